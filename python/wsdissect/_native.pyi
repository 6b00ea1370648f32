"""The Rust side of wsdissect (see wsdissect/__init__.py for the API)."""

from typing import Iterator, Optional, Sequence

class CaptureError(ValueError):
    """The file is not a capture wsdissect can read."""

class Stream(Iterator[bytes]):
    """Chunks of whole JSON lines of one capture, dissected on a thread
    without the GIL."""

    #: The longest line of the last chunk returned, in bytes.
    longest: int
    #: Once exhausted: what the CLI would print on standard error.
    warnings: list[str]
    def __iter__(self) -> Stream: ...
    def __next__(self) -> bytes: ...

def stream(
    path: str,
    kinds: Sequence[str],
    payload: str,
    keylog: Sequence[str] = ...,
    filter: Optional[str] = None,
    decode_as: Optional[str] = None,
    json_text: bool = False,
) -> Stream:
    """Start dissecting `path`; the JSON lines of the record types `kinds`
    (`json_text`: app records' nested values as JSON text)."""
