"""The phrase lists and regular expressions behind the text signals (Rust regex syntax: no look-around).

Kept apart from the signal code so they can be read, reviewed and extended as data. Phrase
lists are tuples matched one pattern at a time: a single big alternation defeats the regex
engine's literal prefilters and ran several times slower on Alpaca. Phrase
patterns are matched against lower-cased text (case-insensitive regexes over Unicode text are
several times slower); PII and secret patterns against the original. Each list
was checked against real data (Alpaca, the samples) for what it catches and what it wrongly
catches; comments say which false positives a pattern is shaped to avoid.
"""

from __future__ import annotations

from typing import Final


def any_of(*patterns: str) -> str:
    return "|".join(f"(?:{p})" for p in patterns)


# Refusals and assistant boilerplate, anywhere in an answer. Phrased around the speaker ("I",
# "as an AI") so answers *about* language models ("GPT-3 is a language model") don't match.
REFUSAL: Final = (
    # At a sentence start: not "such as an AI assistant" nor "serves as a language model".
    r"(?:^|[.!?:;\n]\s*)as an ai (?:language model|assistant|model|system)\b",
    r"(?:^|[.!?:;\n]\s*)as an ai(?:[ ,.]|$)",  # not "as an AI-generated ..."
    r"(?:^|[.!?:;\n]\s*)as an? (?:large )?language model\b",
    r"\bi(?:['’]m| am) (?:sorry|afraid),? (?:but )?(?:i|as an ai)\b[^.!?\n]{0,40}"
    r"\b(?:can(?:no|['’])t|unable|not able|won['’]t|will not|do not|don['’]t)\b",
    # Not "I can't help but ...", nor in-character writing such as "I am unable to access".
    r"\bi(?: can(?:no|['’])t| am unable to|['’]m unable to| am not able to|['’]m not able to|"
    r" won['’]t be able to) (?:help (?:you|with)|assist|provide|fulfil|fulfill|comply|answer|generate|"
    r"create|browse|perform|do that|do this|draw|produce)\b",
    r"\bi do(?:n['’]t| not) have (?:personal (?:opinions|experiences?|feelings|beliefs|preferences)|"
    r"the ability to|access to (?:the internet|real-time|current|personal|your))",
    r"\b(?:cannot|can['’]t|could not|is unable to) be (?:fulfilled|completed|performed|done|generated|"
    r"produced|answered|created) by (?:a|an|this) (?:gpt|ai|language|text-based) (?:language )?model\b",
    r"\bwhich (?:a|an) (?:gpt|ai|language) (?:language )?model "
    r"(?:cannot|can['’]t|is unable to|is not able to)\b",
    r"\bmy (?:knowledge|training) (?:cut-?off|data only goes)\b",
)

# A refusal counts only where it opens the answer: the same words later are a character's line
# in a story ("I'm afraid I can't let you do that"), or a caveat after a full answer ("As an AI
# assistant, I cannot taste these restaurants myself, but ..."), not a refusal to answer.
REFUSAL_HEAD_CHARS: Final = 200
# Why the answer declines: a harm it will not help with. Such a refusal is a safety behaviour.
SAFETY_RATIONALE: Final = (
    r"\b(?:dangerous|harmful|harm|illegal|unethical|unsafe|self-harm|suicid\w*|violen(?:ce|t)|abus(?:e|ive)|"
    r"hurt(?:ing)? (?:yourself|others|someone|anyone)|crisis|hotline|therapists?|professional help|"
    r"mental health|emergency services|against the law|weapons?|explosives?)\b"
)
# The prompt asks what the assistant cannot do, or how it works: describing its limits is the
# answer, not a refusal.
ASKS_WHAT_YOU_CANNOT: Final = (
    r"\bwhat (?:\w+ ){0,3}(?:can(?:no|['’])?t|can not|won['’]t) you\b|"
    r"\bwhat (?:\w+ ){0,3}are you (?:not )?(?:able|allowed|unable)\b|"
    r"\byour (?:limitations|limits|restrictions|capabilities)\b|"
    r"\bhow (?:do )?you work\b|\babout yourself\b"
)

# Every REFUSAL and SELF_IDENTIFICATION pattern holds one of these literally: answers with none
# of them (nine in ten) skip those patterns.
REFUSAL_HINTS: Final = (
    *("as an ai", "model", "sorry", "afraid", "i can", "able to", "t have"),
    *("my knowledge", "my training", "i'm", "i’m", "i am"),
)

# Self-identification: boilerplate, unless the prompt asks what the assistant is ("Are you human?").
SELF_IDENTIFICATION: Final = (
    r"\bi(?:['’]m| am) (?:just |only )?an? (?:ai|artificial intelligence|language model|virtual assistant)\b",
)
ASKS_WHAT_YOU_ARE: Final = r"\b(?:are|r) you\b|\bwho are you\b|\bwhat are you\b"

# Whole answers that are a placeholder, compared after lower-casing and stripping spaces,
# brackets and trailing full stops ("<noinput>", "N/A.", "[TODO]"). "None" is left out: it is a
# real answer to "find the errors in ...".
PLACEHOLDER_WHOLE: Final = (
    r"^(?:"
    + any_of(
        r"n/a|n\.a",  # not "na": that is sodium
        r"null|nil|nan|undefined",
        r"todo|tbd|tbc|fixme|xxx+|placeholder",
        r"no ?input|no ?output(?: (?:required|expected|needed|necessary))?|no answer|no response",
        r"(?:your |insert |the )?(?:answer|response|output|text) (?:goes )?here",
        r"insert (?:answer|response|output|text|content)(?: here)?",
        r"not applicable",
        r"[-–—?…,;:]+",  # "-", "?" (the strip already removed dots, brackets and quotes)
        r"",  # nothing left: the answer was only dots, brackets or quotes ("...", "()")
    )
    + r")$"
)

# Placeholder markers that spoil an answer: at the start of a turn (Alpaca's generator left
# "<noinput>"/"<nooutput>" tokens and "No output" answers), or anywhere (filler text, slots).
PLACEHOLDER_START: Final = any_of(
    r"^\s*<\s*no ?(?:input|output)\s*>",
    r"^\s*no output\b",
    r"^\s*todo\b:?",
)
PLACEHOLDER_INSIDE: Final = (
    r"lorem ipsum",
    r"\[(?:insert|your|add) (?:answer|response|output|text|content|code)(?: here)?\]",
)
# Every PLACEHOLDER_INSIDE match starts with one of these: answers without skip the patterns.
PLACEHOLDER_INSIDE_HINTS: Final = ("lorem ipsum", "[insert ", "[your ", "[add ")
# Only turns this short are compared whole with PLACEHOLDER_WHOLE.
PLACEHOLDER_MAX_CHARS: Final = 40

# Media an answer promises or references but a text example cannot carry: HTML or Markdown
# images, "[Insert Bar Chart]", "see the attached image". Template slots such as "[Name]" in a
# letter are not matched: only bracketed media words are.
MEDIA_NOUNS: Final = (
    *("image", "picture", "photo", "photograph", "screenshot", "drawing", "sketch", "illustration"),
    *("diagram", "chart", "graph", "figure", "video", "logo", "map", "infographic", "gif", "audio"),
    "recording",
)
MEDIA_WORDS: Final = "(?:" + "|".join(MEDIA_NOUNS) + ")s?"
MEDIA: Final = (
    r"!\[[^\]\n]*\]\(",  # a Markdown image, even one whose URL is cut off
    rf"\[(?:insert|attach|add|include|embed)\b[^\]\n]*{MEDIA_WORDS}[^\]\n]*\]",
    rf"\[(?:an? |the )?{MEDIA_WORDS}\b[^\]\n]*\]",
    rf"\((?:an? |the )?{MEDIA_WORDS}(?: of| showing| here| attached)\b[^)\n]*\)",
    rf"\b(?:see|view|find|check|refer to) (?:the )?(?:attached|enclosed|uploaded|included) {MEDIA_WORDS}",
    rf"\b(?:see|view|check|refer to|in|shown in) (?:the |this )?{MEDIA_WORDS} (?:below|above|here)\b",
    rf"\b(?:the )?(?:following|below) {MEDIA_WORDS}\s*:?\s*$",
    rf"(?m)\b(?:here is|here's|here are|below is|attached is|i(?:'ve| have) (?:created|drawn|made)) "
    rf"(?:a |an |the |my |your )?(?:\w+ ){{0,2}}{MEDIA_WORDS}\s*(?:[:.]\s*)?$",
)
# Embedded media tags count unless the answer is itself a web page ("Create an HTML page ...").
MEDIA_TAG: Final = r"<(?:img|audio|video|iframe)\b"
HTML_DOCUMENT: Final = r"<(?:!doctype|html|body|div|head)\b"
# Links promised in the answer; only a defect when the answer holds no URL at all.
LINK_PROMISE: Final = (
    r"\b(?:here is|here's|here are|below is|this is) (?:a |the )?(?:link|url)s?\b",
    r"\b(?:link|url)s? (?:is |are )?(?:below|provided below|here)\b",
    r"\b(?:following|this|that) (?:link|url)s?\s*[:.]",
    r"\bclick (?:here|on (?:the|this) link|the link below)\b",
    r"\[(?:link|url|website|insert link)[^\]\n]*\]",
    r"(?:^|\s)\((?:link|url)\)",  # not crawler(url)
)
URL: Final = r"\bhttps?://\S+|\bwww\.[a-z0-9-]+\.\S+"
# Every MEDIA, MEDIA_TAG and LINK_PROMISE pattern holds one of these literally: answers with
# none of them (nine in ten) skip those regexes.
MEDIA_OR_LINK_HINTS: Final = (
    "![",
    "<img",
    "<audio",
    "<video",
    "<iframe",
    "link",
    "url",
    "click",
    "website",
    *MEDIA_NOUNS,
)

# Personally identifying data and secrets, counted over every message of a conversation.
EMAIL: Final = r"\b[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}\b"
# Number patterns start after a character that cannot continue a number, so the digits of
# 0.0119047619047619 are not read as a card or a phone number (no look-behind in Rust regex).
_NOT_AFTER_NUMBER: Final = r"(?:^|[^\w.,+/-])"
PHONE: Final = (
    _NOT_AFTER_NUMBER
    + "(?:"
    + any_of(
        r"\+\d{1,3}[ .-]?\(?\d{1,4}\)?(?:[ .-]?\d{2,4}){2,4}",  # +44 7700 900123, +1 (555) 010-4477
        r"\(\d{3}\) ?\d{3}[ .-]\d{4}",  # (555) 010-4477
        r"\d{3}[.-]\d{3}[.-]\d{4}",  # 555-010-4477
        r"0\d{2,4} ?\d{3,4} ?\d{3,4}",  # 07700 900123, 020 7946 0958 (UK style, leading 0)
    )
    + r")(?:[^\w.,/-]|[.,](?:\s|$)|$)"
)
# The fewest digits a match holds ("+1 5 12 34" for a phone): texts with fewer skip the pattern.
PHONE_MIN_DIGITS: Final = 6
CARD_MIN_DIGITS: Final = 16
SSN_MIN_DIGITS: Final = 9
CARD: Final = _NOT_AFTER_NUMBER + r"\d{4}(?:[ -]?\d{4}){3}(?:[^\w.,/-]|[.,](?:\s|$)|$)"
SSN: Final = _NOT_AFTER_NUMBER + r"\d{3}-\d{2}-\d{4}(?:[^\w.,/-]|[.,](?:\s|$)|$)"
# Provider key formats are unambiguous; generic "api_key = ..." assignments are checked by the
# signal for a digit in the value, so "YOUR_API_KEY" and "<token>" placeholders are not flagged.
SECRET: Final = any_of(
    r"\bsk-(?:proj-|live-|test-)?[A-Za-z0-9_-]{20,}",
    r"\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}",
    r"\bAKIA[0-9A-Z]{16}\b",
    r"\bgh[pousr]_[A-Za-z0-9]{30,}",
    r"\bxox[abprs]-[A-Za-z0-9-]{10,}",
    r"\bAIza[0-9A-Za-z_-]{35}",
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
    r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.",
)
SECRET_ASSIGNMENT: Final = (
    r"(?i)\b(?:api[_ -]?key|secret(?:[_ -]?key)?|access[_ -]?token|auth[_ -]?token|bearer|passw(?:or)?d)"
    r"[\"']?\s*(?:[:=]|is)?\s*[\"']?([A-Za-z0-9_\-/+=.]{10,})"
)
# Every SECRET_ASSIGNMENT starts with one of these (case folded the same way): texts without skip it.
SECRET_ASSIGNMENT_HINT: Final = r"(?i)api|secret|access|auth|bearer|passw"

# Fenced code is left out of the symbol ratio: code is legitimately symbol-heavy.
CODE_FENCE_BLOCK: Final = r"(?s)```.*?```"
# Symbols prose, code, tables and maths don't use: anything but letters, digits, spaces, ASCII,
# punctuation of any script, maths and currency signs. Leaves emoji, box drawing, dingbats,
# control and private-use characters: the stuff of symbol soup. (Alpaca's symbol-heavy answers
# are regexes, tables, equations and code, all ASCII or maths.)
ODD_SYMBOL: Final = r"[^\p{L}\p{N}\p{M}\s\x21-\x7E\p{P}\p{Sm}\p{Sc}]"
# Broken encodings: the replacement character, stray control characters, UTF-8 read as Latin-1
# or Windows-1252 ("Ã©", "â€™"), and piles of combining marks. Private-use characters (icon
# fonts pasted as text, seen in LIMA) count as odd symbols instead: one or two are no reason
# to drop an answer.
MOJIBAKE: Final = (
    r"\x{FFFD}|[\x00-\x08\x0B\x0C\x0E-\x1F\x7F]|Ã[\x{80}-\x{BF}]|â€[\x{80}-\x{BF}™œ�]|Â[\x{A0}-\x{BF}]"
    r"|\p{Mn}{4,}"  # stacked combining marks ("zalgo" text): no script stacks four
)
# Keyboard-mash punctuation: a long run of symbols no markup uses in a row ("!!!!!!!!", "#$%@#$%@").
SYMBOL_RUN: Final = r"[!?#@$%^&~\\]{8,}"

# Answers end mid-sentence when they stop on a comma, colon or opening bracket, or on a word that
# cannot end an English sentence (particles such as "in" or "on" can: "winter light creeps in").
# Not on ";", "/" or "+": code, regexes, URLs and C++ end with them.
# Lower-case and after a space only: "Vitamin A" and "Shi'a" end fine.
DANGLING_WORDS: Final = (
    *("the", "a", "an", "and", "or", "but", "of", "to", "with", "from", "my", "your", "our", "their"),
    *("its", "if", "because", "than", "into", "whose", "such", "is", "are", "was", "were"),
)
DANGLING_END: Final = r"(?:[,:(\[{&–—]|\s(?:" + "|".join(DANGLING_WORDS) + r"))[\s\p{Cf}]*$"
# Line endings that look dangling but are not: a letter's sign-off ("Best,").
SIGN_OFF: Final = (
    r"(?i)^\s*(?:sincerely|regards|best(?: regards| wishes)?|kind regards|cheers|thanks|thank you|"
    r"yours(?: truly| sincerely)?|love|warmly|cordially|best,? \w+),\s*$"
)
# Where a line may end without a full stop: closing punctuation and brackets, quotes, emoji,
# numbers, code, a hashtag (social posts), a URL, or a quote's attribution ("..." - Helen Keller).
CLEAN_END: Final = (
    r"(?:[.!?…)\]}\"'”’`*>|;\p{So}\p{N}]|#\w+|://\S+|[\"”]\s*[-–—―][^\"”]{1,60})[\s\p{Cf}\p{M}]*$"
)
# A capitalised word: headlines and titles ("Think Again! New Research Suggests ...") are lines
# where most words start so, and need no full stop.
CAPITALISED_WORD: Final = r"(?:^|\s)[\p{Lu}\p{N}]"
# Last lines that are list items or code end without a full stop by nature. Code is checked one
# pattern at a time (as one alternation it cost more than the rest of the truncation check).
LIST_ITEM: Final = r"^\s*(?:[-*•>#|]|\d+[.)]|[a-zA-Z][.)]\s)"
CODE_LINE: Final = (
    r"[{};=|]",
    r"^\s{4}",
    r"\bdef ",
    r"\breturn\b",
    r"\w\(",  # a call: qui(arr)
    r"^\s*(?:if|elif|else|for|while|def|class|try|except|with)\b.*:$",  # a Python block opener
)
# A sentence boundary earlier in the answer: the answer is prose, not a title or a one-line item.
SENTENCE_BREAK: Final = r"[.!?][\"'”’)]?\s+[\p{Lu}\p{N}]"

# Prompts that name a language ask for it, so a different answer language is expected there.
NAMES_A_LANGUAGE: Final = (
    r"translat|traduc|übersetz|\b(?:english|french|spanish|german|italian|portuguese|dutch|chinese|"
    r"mandarin|japanese|korean|russian|arabic|hindi|greek|hebrew|latin|swedish|polish|turkish|vietnamese|"
    r"language)\b"
)
