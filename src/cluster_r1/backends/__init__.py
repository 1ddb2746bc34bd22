"""LLM backends behind one small protocol (:class:`Backend`)."""

from __future__ import annotations

from .base import Backend, Completion, Message, complete_many
from .openai_compat import OpenAICompatBackend
from .scripted import ScriptedBackend

__all__ = ["Backend", "Completion", "Message", "complete_many", "OpenAICompatBackend", "ScriptedBackend"]
