"""What in a customer's words calls for a person before any answer is tried."""

from __future__ import annotations

import re

# Outage, data loss, security, money, legal: a person at once, high priority.
_URGENT = re.compile(
    r"\b(outage|is down|are down|went down|goes down|server down|site down|service down"
    r"|not loading for anyone|data loss|lost (all )?(my |our )?data"
    r"|data (is |was )?(gone|deleted|lost)"
    r"|security breach|breach|hacked|compromised|ransomware|payment failed|payment declined"
    r"|charged twice|double charged|legal|lawyer|lawsuit|gdpr complaint)\b",
    re.IGNORECASE,
)
_INSULT = re.compile(
    r"\b(useless|stupid|idiot|dumb|terrible|awful|rubbish|garbage|wtf|ridiculous|pathetic"
    r"|hate (this|you)|worst)\b",
    re.IGNORECASE,
)


# Chinese has no spaces between words, so no \b: these are whole words on their own.
_URGENT_ZH = re.compile(
    r"宕机|挂了|瘫痪|服务中断|全部中断|数据丢失|数据丢了|数据没了|数据被删"
    r"|被黑|黑客|被入侵|泄露|安全漏洞|勒索|扣款两次|重复扣款|扣了两次|付款失败|支付失败"
    r"|律师|起诉"
)
# Not a bare 没用: "我还没用过" is "I have not used it yet".
_INSULT_ZH = re.compile(r"垃圾|真没用|太没用|毫无用处|废物|太差|烂透|最差|白痴|气死")
# Persian: words apart by spaces (the zero-width non-joiner read as one, see _persian).
_URGENT_FA = re.compile(
    r"(از کار افتاده|قطع (است|شده|شد)|سرور (قطع|خوابیده)|داده ها (پاک|حذف) شد"
    r"|اطلاعات (پاک|حذف) شد|اطلاعات از دست رفت|داده ها از دست رفت|هک شد|هک شده|نشت اطلاعات"
    r"|دو بار (کسر|کم|برداشت)|پرداخت ناموفق|پرداخت انجام نشد|وکیل|شکایت قانونی)"
)
_INSULT_FA = re.compile(r"(مزخرف|بی فایده|افتضاح|احمق|آشغال|بدترین|به درد نخور)")


def _persian(text: str) -> str:
    """Persian as the patterns spell it: Arabic yeh/kaf as Persian, the zero-width
    non-joiner (می‌خواهم, داده‌ها) and runs of spaces as one space."""
    text = text.replace("\u064a", "\u06cc").replace("\u0643", "\u06a9")
    return " ".join(text.replace("\u200c", " ").split())


def is_urgent(text: str) -> bool:
    return bool(
        _URGENT.search(text) or _URGENT_ZH.search(text) or _URGENT_FA.search(_persian(text))
    )


def is_shouting(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 8 and sum(c.isupper() for c in letters) / len(letters) >= 0.7


def is_frustrated(text: str, previous_texts: list[str]) -> bool:
    """Insults, shouting, or the same message again (the bot's answers are not landing)."""
    normalised = " ".join(text.lower().split())
    repeated = any(" ".join(p.lower().split()) == normalised for p in previous_texts[-3:])
    insult = _INSULT.search(text) or _INSULT_ZH.search(text) or _INSULT_FA.search(_persian(text))
    return bool(insult) or is_shouting(text) or (repeated and len(normalised) > 3)
