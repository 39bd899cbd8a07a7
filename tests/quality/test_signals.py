"""Each signal flags the defect it is named for, and leaves the look-alike clean answers alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.quality.helpers import chat, codes, frame_of, run_quality

QUESTION = "How do I connect the Halo thermostat to my home Wi-Fi network after changing the router?"
GOOD = (
    "Open the Lumen app, go to Devices > Halo > Wi-Fi and choose Change network. Pick your new router's "
    "network, enter the password, and wait for the light on the Halo to turn solid green."
)

DEFECTS: list[tuple[str, dict[str, Any]]] = [
    ("quality.empty-answer", chat(QUESTION, "\u200b\u200b")),
    ("quality.empty-answer", chat(QUESTION, GOOD, "\u2060")),  # second turn is invisible
    ("quality.placeholder", chat(QUESTION, "N/A")),
    ("quality.placeholder", chat(QUESTION, "TODO: write answer")),
    ("quality.placeholder", chat(QUESTION, "<nooutput>")),
    ("quality.placeholder", chat(QUESTION, "...")),
    ("quality.placeholder", chat(QUESTION, "Lorem ipsum dolor sit amet, consectetur adipiscing elit.")),
    ("quality.placeholder", chat(QUESTION, "[Insert answer here]")),
    ("quality.garbage", chat(QUESTION, "Ã‰tÃ© trÃ¨s bien, merci pour votre aide et Ã  bientÃ´t")),
    ("quality.garbage", chat(QUESTION, "■■■ ▲▲▲ ◆◆◆ ●●● ★★★ ♦♦♦ ◇◇◇ go")),
    ("quality.garbage", chat(QUESTION, "Sure thing!!!!!!!!!!!! #$%@#$%@ just restart it")),
    ("quality.garbage", chat(QUESTION, "Restart the hub \ufffd\ufffd and try again please.")),
    ("quality.repetition", chat(QUESTION, "Restart the Hub and try again. " * 12)),
    ("quality.refusal", chat(QUESTION, "As an AI language model, I cannot access your account or devices.")),
    ("quality.refusal", chat(QUESTION, "I'm sorry, but I can't help with that.")),
    ("quality.refusal", chat(QUESTION, "I\u2019m unable to assist with that request.")),
    ("quality.refusal", chat(QUESTION, "As an AI, I don't have the ability to change your settings.")),
    ("quality.refusal", chat(QUESTION, "I'm just an AI, but restarting the Hub usually helps.")),
    ("quality.echo", chat(QUESTION, QUESTION)),
    ("quality.echo", chat(QUESTION, QUESTION.lower().rstrip("?"))),
    ("quality.truncated", chat(QUESTION, "Open the Lumen app and go to Devices, then pick the Halo and")),
    ("quality.truncated", chat("Show me a script.", "Here it is:\n\n```python\nimport requests\nprint(1)\n")),
    ("quality.truncated", chat(QUESTION, GOOD + " After that the app will show the new network name in a")),
    ("quality.missing-media", chat(QUESTION, "Wire it as shown. See the diagram below:")),
    ("quality.missing-media", chat(QUESTION, "You can download the manual by clicking the link below.")),
    ("quality.missing-media", chat(QUESTION, "Like this: ![wiring](wiring.png)")),
    ("quality.missing-media", chat(QUESTION, "[Insert screenshot of the Wi-Fi settings]")),
    (
        "quality.language-mismatch",
        chat(
            QUESTION,
            "Ouvrez l'application Lumen, allez dans Appareils et choisissez le thermostat. Ensuite "
            "vous devez choisir le nouveau réseau et entrer le mot de passe pour que le voyant soit vert.",
        ),
    ),
    (
        "quality.language-mismatch",
        chat(QUESTION, "请打开应用程序，进入设备页面，然后选择新的网络并输入密码。"),
    ),
    ("quality.short-answer", chat(QUESTION, "👍")),
    ("quality.pii", chat("My email is daniel.okafor84@gmail.com, please reset it.", GOOD)),
    ("quality.pii", chat("Call me on 07700 900123 or +44 7700 900123.", GOOD)),
    ("quality.pii", chat("I send Authorization: Bearer sk-live-4f9a2c81d7e64b0fa3c5e9d1b27f8a60", GOOD)),
    ("quality.pii", chat("My card is 4929 1234 5678 9012, charge it.", GOOD)),
    ("quality.pii", chat("Here is my config: api_key = 9f8a7b6c5d4e3f2a1b0c", GOOD)),
]

CLEAN: list[dict[str, Any]] = [
    chat(QUESTION, GOOD),
    chat(QUESTION, GOOD, "Then check the app: the Halo should show as Online within a minute."),
    chat(
        "Show me a script.",
        "Here it is:\n\n```python\nimport requests\nprint(requests.get('http://hub').json())\n```",
    ),
    chat("Where is the manual?", "Here is the link: https://lumengrid.co.uk/manuals/halo-pro.pdf"),
    chat("Write a poem about cake.", "The cakes were so yummy that I can't help but smile all day long."),
    chat("Generate an AI-generated insult.", "You are as dull as an AI-generated insult on a rainy Monday."),
    chat(
        "Name a use of chatbots.",
        "A shop can answer customer questions at night with tools such as an AI assistant.",
    ),
    chat("Find the bug.\n\ndef f(a):\n    if qui(a) < 2:\n        return a", "Line 2: if qui(a) < 2:"),
    chat("Write a tweet about the show.", "Just saw the greatest show! So much fun. #Theatre #GoodVibes ❤️"),
    chat(
        "Translate into French: Where is the train station, please?",
        "Où est la gare, s'il vous plaît ? Vous pouvez aussi dire : pardon, je cherche la gare.",
    ),
    chat("Who do I write to?", "Write to support@example.com and we will reply within a day."),
    chat("What is 1/84?", "The reciprocal of 84 is 0.0119047619047619, roughly 0.012."),
    chat(
        "Make a table of the tariffs.", "| Tariff | Rate |\n|---|---|\n| Flex Saver | 24p |\n| Fixed | 26p |"
    ),
    chat("Give me a regex for 10 digits.", "Use ^\\d{10}$ which matches exactly ten digits."),
    chat("Thanks for the help!", "You're welcome! 😊 Glad the Halo is back online for you."),
    chat(
        "Write a thank-you note.", "Dear Margaret,\n\nThank you for watering my plants.\n\nBest wishes,\nAlex"
    ),
    chat("What is 2+2?", "2 + 2 = 4."),
    chat("Which vitamin deficiency causes night blindness?", "The answer is A. Vitamin A"),
    chat("Find a quote about life.", '"Life is an adventure. It\'s not a package tour." ― Eckhart Tolle'),
    chat(
        "Write a headline for: coffee may reduce the risk of stroke.",
        "Uncaffeinated? Think Again! New Research Suggests Drinking Coffee May Reduce Stroke Risk",
    ),
    chat("Are you a human?", "No, I am an artificial intelligence."),
    chat(
        "What is the smallest country in the world that is at least one square mile in area?",
        "Nauru is the smallest country in the world that is at least one square mile in area.",
    ),
    chat(
        "Write a haiku about frost.",
        "Morning frost on glass\nthe kettle starts its low song\nwinter light creeps in",
    ),
    chat(
        "Tweet about our launch.", "Our new Halo Mini is here and it is tiny! Order now. #HaloMini #SmartHome"
    ),
]


@pytest.mark.parametrize(("code", "record"), DEFECTS, ids=[f"{c}-{i}" for i, (c, _) in enumerate(DEFECTS)])
def test_defect_is_flagged(tmp_path: Path, code: str, record: dict[str, Any]) -> None:
    out, _ = run_quality(frame_of(tmp_path, [record]))
    assert out["status"][0] != "rejected" or out["reasons"][0][0]["code"].startswith("quality.")
    assert code in codes(out)[0], out.select("flags").to_dicts()


def test_clean_answers_carry_no_flag(tmp_path: Path) -> None:
    out, _ = run_quality(frame_of(tmp_path, CLEAN))
    flagged = {i: sorted(c) for i, c in enumerate(codes(out)) if c}
    assert flagged == {}, [(CLEAN[i]["messages"][-1]["content"][:60], c) for i, c in flagged.items()]
    assert out["quality_score"].to_list() == [1.0] * len(CLEAN)
    assert set(out["status"]) == {"ok"}


def test_flag_messages_say_what_was_found(tmp_path: Path) -> None:
    records = [
        chat(QUESTION, "As an AI language model, I cannot access your account."),
        chat("My email is daniel.okafor84@gmail.com and my phone 07700 900123.", GOOD),
    ]
    out, _ = run_quality(frame_of(tmp_path, records))
    refusal = [f["message"] for f in out["flags"][0] if f["code"] == "quality.refusal"]
    pii = [f["message"] for f in out["flags"][1] if f["code"] == "quality.pii"]
    assert refusal == ["refusal or boilerplate: «as an ai language model»"]
    assert pii == ["contains email ×1, phone ×1"]
    key, _ = run_quality(
        frame_of(tmp_path, [chat("Authorization: Bearer sk-live-4f9a2c81d7e64b0fa3c5e9d1b27f8a60", GOOD)])
    )
    assert [f["message"] for f in key["flags"][0]] == ["contains secret ×1"]


def test_short_answer_follows_the_configured_minimum(tmp_path: Path) -> None:
    frame = frame_of(tmp_path, [chat(QUESTION, "Yes."), chat(QUESTION, GOOD)])
    default, _ = run_quality(frame)
    strict, _ = run_quality(frame, min_answer_words=2)
    assert ["quality.short-answer" in c for c in codes(default)] == [False, False]
    assert ["quality.short-answer" in c for c in codes(strict)] == [True, False]


def test_pii_allow_domains_is_configurable(tmp_path: Path) -> None:
    record = chat("Where do I write?", "Write to help@lumengrid.co.uk and we'll reply within a day.")
    flagged, _ = run_quality(frame_of(tmp_path, [record]))
    allowed, _ = run_quality(frame_of(tmp_path, [record]), pii_allow_domains=["lumengrid.co.uk"])
    assert "quality.pii" in codes(flagged)[0]
    assert "quality.pii" not in codes(allowed)[0]


def test_tool_call_turns_are_not_empty_answers(tmp_path: Path) -> None:
    record = {
        "messages": [
            {"role": "user", "content": "What's my Halo temperature?"},
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "get_temp", "arguments": "{}"}}
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": '{"celsius": 20.5}'},
            {"role": "assistant", "content": "Your Halo reads 20.5 °C right now."},
        ],
        "tools": [{"type": "function", "function": {"name": "get_temp", "parameters": {"type": "object"}}}],
    }
    out, _ = run_quality(frame_of(tmp_path, [record]))
    assert out["status"][0] == "ok"
    assert codes(out)[0] == set()
    assert out["q_min_turn_chars"][0] > 0
