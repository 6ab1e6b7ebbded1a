"""Reading back what a PDF written by Qt says: its pages and the text drawn on each.

Qt writes each page's drawing as a Flate-compressed content stream and each piece of text
as glyph numbers of an embedded font subset (``<0007> Tj``), so searching the file's bytes
for a word finds nothing whether or not the word was drawn. This helper inflates the
streams and maps the glyph numbers back to characters through each font's ToUnicode map
(a PDF 1.4 requirement for text that can be searched and copied), as a PDF reader does.
It handles the plain object layout QPdfWriter produces: no object streams, no encryption.
"""

from __future__ import annotations

import re
import unicodedata
import zlib

_OBJECT = re.compile(rb"(\d+) 0 obj\s(.*?)\sendobj", re.S)
_PAGE = re.compile(rb"/Type\s*/Page(?![A-Za-z])")
_TOKEN = re.compile(rb"/(F\w*)\s+[\d.]+\s+Tf|<([0-9A-Fa-f]+)>\s*Tj|\[(.*?)\]\s*TJ|\bET\b", re.S)


def page_count(data: bytes) -> int:
    """How many page objects (``/Type /Page``, not the ``/Pages`` tree) the file holds."""
    return len(_PAGE.findall(data))


def _objects(data: bytes) -> dict[int, bytes]:
    return {int(m.group(1)): m.group(2) for m in _OBJECT.finditer(data)}


def _stream(body: bytes) -> bytes:
    m = re.search(rb"stream\r?\n(.*)endstream", body, re.S)
    if m is None:
        return b""
    raw = m.group(1)
    if b"/FlateDecode" in body[: m.start()]:
        return zlib.decompressobj().decompress(raw)
    return raw


def _cmap(text: bytes) -> dict[int, str]:
    out: dict[int, str] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", text, re.S):
        for src, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            out[int(src, 16)] = bytes.fromhex(dst.decode()).decode("utf-16-be")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", text, re.S):
        for lo, hi, rest in re.findall(
            rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*(<[0-9A-Fa-f]+>|\[[^\]]*\])", block
        ):
            first, last = int(lo, 16), int(hi, 16)
            if rest.startswith(b"["):
                targets = re.findall(rb"<([0-9A-Fa-f]+)>", rest)
                for i, dst in enumerate(targets[: last - first + 1]):
                    out[first + i] = bytes.fromhex(dst.decode()).decode("utf-16-be")
            else:
                start = int(rest[1:-1], 16)
                for i in range(last - first + 1):
                    out[first + i] = chr(start + i)
    return out


def _decode(hex_codes: bytes, cmap: dict[int, str]) -> str:
    codes = [int(hex_codes[i : i + 4], 16) for i in range(0, len(hex_codes), 4)]
    return "".join(cmap.get(c, "\ufffd") for c in codes)


def _find(pattern: bytes, body: bytes) -> bytes:
    m = re.search(pattern, body, re.S)
    if m is None:
        raise AssertionError(f"no {pattern!r} in {body[:80]!r}")
    return m.group(1)


def page_texts(data: bytes) -> list[str]:
    """The text of each page, in page order; each drawn piece of text on its own line.

    Spaces come back as spaces and ligatures (ﬀ) as their letters (Unicode NFKC).
    """
    objects = _objects(data)
    tree = next(body for body in objects.values() if re.search(rb"/Type\s*/Pages\b", body))
    kids = [int(n) for n in re.findall(rb"(\d+) 0 R", _find(rb"/Kids\s*\[(.*?)\]", tree))]
    cmaps: dict[int, dict[int, str]] = {}
    pages = []
    for kid in kids:
        page = objects[kid]
        contents = int(_find(rb"/Contents (\d+) 0 R", page))
        resources = objects[int(_find(rb"/Resources (\d+) 0 R", page))]
        fonts = {n.decode(): int(o) for n, o in re.findall(rb"/(F\w*) (\d+) 0 R", resources)}
        text: list[str] = []
        cmap: dict[int, str] = {}
        for m in _TOKEN.finditer(_stream(objects[contents])):
            if m.group(1):
                number = fonts[m.group(1).decode()]
                if number not in cmaps:
                    ref = re.search(rb"/ToUnicode (\d+) 0 R", objects[number])
                    cmaps[number] = _cmap(_stream(objects[int(ref.group(1))])) if ref else {}
                cmap = cmaps[number]
            elif m.group(2):
                text.append(_decode(m.group(2), cmap))
            elif m.group(3) is not None:
                for part in re.findall(rb"<([0-9A-Fa-f]+)>", m.group(3)):
                    text.append(_decode(part, cmap))
            else:
                text.append("\n")
        pages.append(unicodedata.normalize("NFKC", "".join(text)).replace("\t", " "))
    return pages
