"""Instruction templates for embedding models, exactly as the paper's App. E.1 writes them.

A template turns ``(instruction, text)`` into what the encoder reads. Most are a
single string; Instructor uses the pair form ``[prompt, text]``, which we pass as a
separate ``prompt`` so that sentence-transformers can exclude it from pooling,
as the official Instructor implementation does.

>>> TEMPLATES["sentence-transformers"].render("Cluster by topic", "I lost my card")
'Clustering task: Cluster by topic. Text: I lost my card'
>>> TEMPLATES["instructor"].prompt("Cluster by topic")
'Represent this text for clustering analysis: Cluster by topic'
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError

__all__ = ["Template", "TEMPLATES", "FAMILY_TEMPLATE", "auto_templates", "get_template"]


@dataclass(frozen=True)
class Template:
    """``text_format`` wraps each text; ``prompt_format`` (pair form) becomes a shared prompt."""

    name: str
    text_format: str = "{text}"
    prompt_format: str | None = None

    def render(self, instruction: str, text: str) -> str:
        """The string the encoder reads for ``text`` (without the pair-form prompt)."""
        return self.text_format.format(instruction=instruction, text=text)

    def prompt(self, instruction: str) -> str | None:
        """The pair-form prompt shared by every text, or None."""
        if self.prompt_format is None:
            return None
        return self.prompt_format.format(instruction=instruction)

    @property
    def uses_instruction(self) -> bool:
        return "{instruction}" in self.text_format or self.prompt_format is not None


TEMPLATES: dict[str, Template] = {
    t.name: t
    for t in (
        # App. E.1 "Sentence Transformers" (all-MiniLM-L6-v2 and friends).
        Template("sentence-transformers", "Clustering task: {instruction}. Text: {text}"),
        # App. E.1 "Qwen Embedding".
        Template("qwen", "Represent this text for clustering analysis. Task:{instruction} Query:{text}"),
        # App. E.1 "Instructor": the pair [prompt, text].
        Template("instructor", "{text}", "Represent this text for clustering analysis: {instruction}"),
        # App. E.1 "OpenAI Embedding".
        Template("openai", "Represent this text for clustering. Task: {instruction} Text: {text}"),
        # App. E.1 "InBedder" input format (for InBedder-style encoders).
        Template("inbedder", "Input:{text} Instruction:{instruction} Response:"),
        # Ablation: the text alone, instruction ignored.
        Template("none", "{text}"),
    )
}

#: Which template ``template="auto"`` picks for an embedder's ``family``.
FAMILY_TEMPLATE: dict[str, str] = {
    "sentence-transformers": "sentence-transformers",
    "qwen": "qwen",
    "instructor": "instructor",
    "openai": "openai",
    "inbedder": "inbedder",
    # The form and language views (embed/style.py, embed/language.py) read the text only: an
    # instruction would be the same prefix on every text.
    "style": "none",
    "language": "none",
}


def auto_templates(family: str = "sentence-transformers", *, k_free: bool = True, mix: bool = False) -> tuple[str, ...]:
    """Template names whose embeddings ``template="auto"`` sums for this family.

    A given k (``k_free=False``, the paper protocol) and instruction-tuned families (Qwen3,
    Instructor, OpenAI, InBedder): one name, the App. E.1 template of ``family``. A k-free run of
    a family whose template is the sentence-transformers one (not instruction-tuned, e.g. the
    bundled MiniLM): ``("none",)``, the plain texts. The prefix is a few more words to such an
    encoder: over the held-out family of docs/embedding.md (SLURP, TweetEval, election tweets,
    10-K sections, Grimm tales) it cost 2.5-3.7 V at the inferred k on three samples, and on the
    tuning family it won only GoalEx language, where the English prefix on French, German and
    Spanish texts makes language the main axis whatever the instruction says (the language view,
    ``embed/views.py``, now serves that instruction). With ``mix=True``: ``("sentence-transformers",
    "none")``, each text embedded under the paper's template and with no template, the two
    vectors summed (opt-in, measured in docs/embedding.md).
    """
    first = FAMILY_TEMPLATE.get(family, "sentence-transformers")
    if not k_free or first != "sentence-transformers":
        return (first,)
    return (first, "none") if mix else ("none",)


def get_template(template: str | Template, family: str = "sentence-transformers") -> Template:
    """Resolve a template name (or ``"auto"`` from the embedder family) to a :class:`Template`."""
    if isinstance(template, Template):
        return template
    if template == "auto":
        template = FAMILY_TEMPLATE.get(family, "sentence-transformers")
    if template not in TEMPLATES:
        raise ConfigError(f"unknown template {template!r}: use 'auto' or one of {sorted(TEMPLATES)}")
    return TEMPLATES[template]
