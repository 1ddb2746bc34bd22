"""LLM backends behind one small protocol (:class:`Backend`)."""

from __future__ import annotations

from .base import Backend, Completion, Message, complete_many
from .cached import CachedBackend
from .openai_compat import OpenAICompatBackend
from .recording import RecordingBackend
from .scripted import ScriptedBackend

__all__ = ["Backend", "CachedBackend", "Completion", "Message", "complete_many", "OpenAICompatBackend", "RecordingBackend", "ScriptedBackend"]
