"""A mail body as the customer's new words: HTML to text, quoted history and signatures cut.

Mail clients send the whole thread back with every reply; agents need only what is new.
What is cut is kept (the event's `extra["original"]`), so a wrong cut loses nothing. The
markers are the common ones of Gmail, Apple Mail, Thunderbird and Outlook in English,
German, French and Spanish; anything else stays in the text, which errs on the safe side.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

# ---- HTML -----------------------------------------------------------------------------

_BLOCK = {
    "p", "div", "br", "li", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6",
    "pre", "hr", "ul", "ol", "dl", "dt", "dd", "section", "article", "header", "footer",
    "address", "center",
}  # fmt: skip
_DROP = {"script", "style", "head", "title", "template", "noscript", "svg", "object", "iframe"}
_VOID = {"br", "hr", "img", "meta", "link", "input", "col", "area", "base", "wbr", "source"}
# Containers of quoted history: Gmail's div.gmail_quote, Apple's blockquote type=cite,
# Outlook web's #divRplyFwdMsg (only the header; the history follows it and is cut as text).
_QUOTE_CLASSES = {"gmail_quote", "gmail_extra", "yahoo_quoted", "moz-forward-container"}


class _TextOf(HTMLParser):
    """Visible text with line breaks at blocks; scripts, styles and quoted blocks dropped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip: list[str] = []  # the open tags whose content is dropped
        self._links: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if self._skip:
            if tag not in _VOID:
                self._skip.append(tag)
            return
        classes = set((attributes.get("class") or "").split())
        if (
            tag in _DROP
            or tag == "blockquote"
            or classes & _QUOTE_CLASSES
            or attributes.get("id") == "divRplyFwdMsg"
        ):
            if tag not in _VOID:
                self._skip.append(tag)
            return
        if tag in _BLOCK:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("- ")
        if tag == "a":
            self._links.append(attributes.get("href"))

    def handle_endtag(self, tag: str) -> None:
        if self._skip:
            if tag in self._skip:  # close up to the matching tag (HTML in mail is sloppy)
                while self._skip and self._skip.pop() != tag:
                    pass
            return
        if tag == "a" and self._links:
            href = self._links.pop()
            text = self.parts[-1].strip() if self.parts else ""
            if href and href.startswith(("http://", "https://")) and href != text:
                self.parts.append(f" ({href})")
        if tag in _BLOCK and tag != "li":
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(re.sub(r"\s+", " ", data.replace("\xa0", " ")))


def html_to_text(html: str) -> str:
    """Readable plain text of an HTML mail part (never markup: it is shown as text)."""
    parser = _TextOf()
    parser.feed(html)
    parser.close()
    lines = [line.strip() for line in "".join(parser.parts).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# ---- format=flowed (RFC 3676) ---------------------------------------------------------


def unflow(text: str, *, delsp: bool = False) -> str:
    """Join the soft-broken lines of a format=flowed body (a line ending in a space goes on;
    the `-- ` signature separator is never joined)."""
    out: list[str] = []
    joining = False
    for line in text.split("\n"):
        line = line.rstrip("\r")
        piece = line[1:] if line.startswith(" ") else line  # space-stuffing
        if joining and out:
            out[-1] += piece
        else:
            out.append(piece)
        joining = piece.endswith(" ") and piece != "-- "
        if joining and delsp:
            out[-1] = out[-1][:-1]
    return "\n".join(out)


# ---- new words only -------------------------------------------------------------------

# "On Tue, 6 Jan 2026 at 10:31, Grace <g@x> wrote:" and its translations; may be wrapped.
_ATTRIBUTION = re.compile(
    r"^(on\b.{4,}\bwrote|am\b.{4,}\bschrieb.*|le\b.{4,}\ba [ée]crit|"
    r"el\b.{4,}\bescribi[óo])\s*:\s*$",
    re.IGNORECASE,
)
_ORIGINAL = re.compile(
    r"^\s*-{2,}\s*(original message|ursprüngliche nachricht|message d'origine|"
    r"mensaje original)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_HEADER_FROM = re.compile(r"^\s*\*?(from|von|de)\s*:\*?\s", re.IGNORECASE)
_HEADER_NEXT = re.compile(
    r"^\s*\*?(sent|date|to|subject|gesendet|datum|an|betreff|envoy[ée]|[àa]|objet|enviado|"
    r"para|asunto)\s*:",
    re.IGNORECASE,
)
_SIG_DASH = re.compile(r"^-- ?$")
_MOBILE = re.compile(
    r"^(sent from my \w+.*|sent from (outlook|mail) for \w+.*|get outlook for \w+.*|"
    r"von meinem \w+ gesendet.*|envoy[ée] de mon \w+.*|enviado desde mi \w+.*)$",
    re.IGNORECASE,
)
_SIGN_OFF = re.compile(
    r"^(thanks( a lot| again| in advance)?|thank you( very much| in advance)?|many thanks|"
    r"(best|kind|warm|many)( regards)?|regards|best wishes|cheers|sincerely|"
    r"yours( truly| sincerely)?|all the best|"
    r"(viele|beste|liebe|freundliche) grüße|mit freundlichen grüßen|grüße|gruß|danke|lg|mfg|"
    r"merci( d'avance| beaucoup)?|cordialement|bien (à vous|cordialement)|"
    r"bonne journée|saludos|un saludo|gracias)\s*[,.!]?$",
    re.IGNORECASE,
)
MAX_NAME_LINES = 3  # lines after a sign-off that may be a name, a title, a company


def _history_start(lines: list[str]) -> int | None:
    """Where a block of unmarked history begins (Outlook's original-message header)."""
    for index, line in enumerate(lines):
        if _ORIGINAL.match(line) or re.match(r"^_{8,}\s*$", line):
            return index
        if _HEADER_FROM.match(line) and any(
            _HEADER_NEXT.match(following) for following in lines[index + 1 : index + 4]
        ):
            return index
    return None


def _drop_quotes(lines: list[str]) -> list[str]:
    """Without attribution lines and `>` quotes (kept: words written below or between)."""
    kept: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        joined = f"{line} {lines[index + 1]}" if index + 1 < len(lines) else line
        if _ATTRIBUTION.match(line):
            index += 1
            continue
        if _ATTRIBUTION.match(joined) and not line.lstrip().startswith(">"):
            index += 2
            continue
        if line.lstrip().startswith(">"):
            index += 1
            continue
        kept.append(line)
        index += 1
    return kept


def _drop_signature(lines: list[str]) -> list[str]:
    for index, line in enumerate(lines):
        if _SIG_DASH.match(line) or _MOBILE.match(line.strip()):
            return lines[:index]
    # A sign-off ("Thanks,") followed by no more than a name or two at the very end.
    content = [i for i, line in enumerate(lines) if line.strip()]
    for position in range(len(content) - 1, max(-1, len(content) - MAX_NAME_LINES - 2), -1):
        index = content[position]
        if _SIGN_OFF.match(lines[index].strip()):
            after = [lines[i] for i in content[position + 1 :]]
            if all(len(line.strip()) <= 60 for line in after):
                return lines[:index]
    return lines


def _drop_name(lines: list[str], sender: str) -> list[str]:
    """Without a last line that is just the sender's name ("Ada" under "Hello, ...")."""
    content = [i for i, line in enumerate(lines) if line.strip()]
    words = sender.replace(",", " ").lower().split()
    names = {" ".join(words), *words} - {""}
    if len(content) > 1 and lines[content[-1]].strip().rstrip(".,").lower() in names:
        return lines[: content[-1]]
    return lines


def new_words(text: str, *, sender: str = "") -> str:
    """The part of a mail body the sender wrote now, without history and signature.
    `sender`: their display name, so a last line that only signs it is cut too. When the
    signature cut leaves nothing ("Thanks!"), it is not made; when the history cut leaves
    nothing (a bare forward), the whole text is the message."""
    lines = text.replace("\r\n", "\n").split("\n")
    start = _history_start(lines)
    if start is not None:
        lines = lines[:start]
    lines = _drop_quotes(lines)
    for candidate in (_drop_name(_drop_signature(lines), sender), lines):
        result = re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in candidate))
        if result.strip():
            return result.strip()
    return text.strip()
