"""Each check of ApiSpec refuses what Telegram would refuse and accepts what it would accept."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .spec import API_JSON, ApiSpec, HtmlError, Range, parse_html, utf16_len, visible_text


@pytest.fixture(scope="module")
def spec() -> ApiSpec:
    return ApiSpec.default()


def keyboard(*rows: list[dict[str, Any]]) -> str:
    return json.dumps({"inline_keyboard": list(rows)})


def send(**params: Any) -> dict[str, Any]:
    """A form-encoded sendMessage as python-telegram-bot sends it: every value a string."""
    base: dict[str, Any] = {"chat_id": "1001", "text": "Mirë se erdhe!"}
    base.update(params)
    return base


def only(violations: list[str], *fragments: str) -> None:
    assert len(violations) == 1, violations
    for fragment in fragments:
        assert fragment in violations[0], violations


# ---- the bundled description ----------------------------------------------------------------


def test_loads_the_bundled_copy(spec: ApiSpec) -> None:
    assert API_JSON.parent.name == "botapi"
    assert spec.version == "Bot API 10.1"
    assert spec.release_date == "June 11, 2026"
    assert len(spec.methods) > 150 and len(spec.types) > 300


def test_limits_are_parsed_from_descriptions(spec: ApiSpec) -> None:
    text = spec.methods["sendMessage"].fields["text"]
    assert text.chars == Range(1, 4096) and text.after_parsing
    assert text.parse_mode_field == "parse_mode"
    assert spec.methods["sendDocument"].fields["caption"].chars == Range(0, 1024)
    assert spec.types["InlineKeyboardButton"].fields["callback_data"].nbytes == Range(1, 64)
    assert spec.types["BotCommand"].fields["command"].chars == Range(1, 32)
    assert spec.methods["setWebhook"].fields["secret_token"].chars == Range(1, 256)
    assert spec.methods["getUpdates"].fields["limit"].values == Range(1, 100)
    assert spec.methods["sendMediaGroup"].fields["media"].items == Range(2, 10)
    assert spec.types["ReplyParameters"].fields["quote"].parse_mode_field == "quote_parse_mode"
    # "values 1-6 for ..." is not a bound of the whole field.
    assert spec.types["Dice"].fields["value"].values is None
    assert spec.types["BotCommandScopeChat"].discriminator == ("type", "chat")


def test_method_names_are_case_insensitive_like_telegram(spec: ApiSpec) -> None:
    assert spec.method_name("SENDMESSAGE") == "sendMessage"
    assert spec.method_name("sendMesage") is None


# ---- a good call, and the basic refusals ----------------------------------------------------


def test_good_send_message_passes(spec: ApiSpec) -> None:
    params = send(
        text="<b>Mirë</b> se erdhe, <i>Ana</i>!",
        parse_mode="HTML",
        reply_markup=keyboard([{"text": "Po", "callback_data": "lang:sq"}]),
        disable_notification="true",
        reply_parameters=json.dumps({"message_id": 5}),
    )
    decoded, violations = spec.parse("sendMessage", params)
    assert violations == []
    assert decoded["chat_id"] == 1001
    assert decoded["disable_notification"] is True
    assert decoded["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "lang:sq"


def test_good_json_body_passes(spec: ApiSpec) -> None:
    params = {
        "chat_id": 1001,
        "text": "hi",
        "reply_markup": {"inline_keyboard": [[{"text": "a", "url": "https://example.org"}]]},
    }
    assert spec.check("sendMessage", params) == []


def test_unknown_method(spec: ApiSpec) -> None:
    only(spec.check("sendMesage", send()), "unknown method")


def test_unknown_parameter(spec: ApiSpec) -> None:
    only(spec.check("sendMessage", send(parse_mod="HTML")), "parse_mod: unknown parameter")


def test_missing_chat_id(spec: ApiSpec) -> None:
    only(spec.check("sendMessage", {"text": "hi"}), "chat_id: required parameter is missing")


def test_conditionally_required_parameters(spec: ApiSpec) -> None:
    assert spec.check("editMessageText", {"inline_message_id": "abc", "text": "x"}) == []
    assert spec.check("editMessageText", {"chat_id": "1", "message_id": "2", "text": "x"}) == []
    violations = spec.check("editMessageText", {"chat_id": "1", "message_id": "2"})
    only(violations, "text: required parameter is missing")
    assert spec.check("editMessageText", {"text": "x"})  # no message to edit at all


# ---- lengths ----------------------------------------------------------------------------------


def test_text_length_limit(spec: ApiSpec) -> None:
    assert spec.check("sendMessage", send(text="a" * 4096)) == []
    only(spec.check("sendMessage", send(text="a" * 4097)), "too long", "4097")


def test_length_counts_utf16_units(spec: ApiSpec) -> None:
    assert utf16_len("😀") == 2 and utf16_len("ë") == 1
    assert spec.check("sendMessage", send(text="😀" * 2048)) == []
    only(spec.check("sendMessage", send(text="😀" * 2049)), "4098 characters")


def test_length_after_entities_parsing_ignores_markup(spec: ApiSpec) -> None:
    text = "<b>" + "a" * 4090 + "</b>&amp;&lt;"
    assert len(text) > 4096
    assert spec.check("sendMessage", send(text=text, parse_mode="HTML")) == []
    only(spec.check("sendMessage", send(text=text)), "too long")  # no parse_mode: all counts


def test_markdown_length_is_counted_without_markup(spec: ApiSpec) -> None:
    text = "*" + "a" * 4095 + "*"
    assert spec.check("sendMessage", send(text=text, parse_mode="MarkdownV2")) == []


@pytest.mark.parametrize("text", ["", "   \n", "<b></b>", "<i> </i>"])
def test_text_must_be_non_empty(spec: ApiSpec, text: str) -> None:
    only(spec.check("sendMessage", send(text=text, parse_mode="HTML")), "non-empty")


def test_caption_may_be_empty(spec: ApiSpec) -> None:
    assert spec.check("sendDocument", {"chat_id": "1", "document": "FILEID", "caption": ""}) == []
    violations = spec.check(
        "sendDocument", {"chat_id": "1", "document": "F", "caption": "a" * 1025}
    )
    only(violations, "caption: too long")


def test_callback_data_is_at_most_64_bytes(spec: ApiSpec) -> None:
    ok = keyboard(
        [{"text": "a", "callback_data": "x" * 64}, {"text": "b", "callback_data": "ë" * 32}]
    )
    assert spec.check("sendMessage", send(reply_markup=ok)) == []
    bad = keyboard(
        [{"text": "a", "callback_data": "x"}], [{"text": "b", "callback_data": "x" * 65}]
    )
    only(
        spec.check("sendMessage", send(reply_markup=bad)),
        "reply_markup.inline_keyboard[1][0].callback_data",
        "65 bytes",
        "BUTTON_DATA_INVALID",
    )
    multibyte = keyboard([{"text": "a", "callback_data": "ë" * 33}])  # 66 bytes, 33 characters
    only(spec.check("sendMessage", send(reply_markup=multibyte)), "66 bytes")


def test_callback_data_in_edit_reply_markup(spec: ApiSpec) -> None:
    params = {
        "chat_id": "1",
        "message_id": "2",
        "reply_markup": keyboard([{"text": "a", "callback_data": "y" * 100}]),
    }
    only(spec.check("editMessageReplyMarkup", params), "callback_data")


def test_numeric_and_item_ranges(spec: ApiSpec) -> None:
    assert spec.check("getUpdates", {"limit": "100", "timeout": "30"}) == []
    only(spec.check("getUpdates", {"limit": "101"}), "limit: 101 is out of range 1-100")
    params = {"chat_id": "1", "from_chat_id": "1", "message_ids": "[]"}
    only(spec.check("forwardMessages", params), "message_ids: has 0 items")


def test_bot_command_limits(spec: ApiSpec) -> None:
    good = json.dumps([{"command": "start", "description": "Fillo"}])
    assert spec.check("setMyCommands", {"commands": good}) == []
    bad = json.dumps([{"command": "c" * 33, "description": "x"}])
    only(spec.check("setMyCommands", {"commands": bad}), "commands[0].command: too long")


# ---- HTML -------------------------------------------------------------------------------------

GOOD_HTML = [
    "<b>b</b> <strong>s</strong> <i>i</i> <em>e</em> <u>u</u> <ins>i</ins>",
    "<s>s</s> <strike>s</strike> <del>d</del>",
    '<span class="tg-spoiler">x</span> <tg-spoiler>y</tg-spoiler>',
    '<a href="https://example.org/?a=1&amp;b=2">link</a> <a href="tg://user?id=1">me</a>',
    '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>',
    "<code>x = 1</code>",
    '<pre>block</pre> <pre><code class="language-python">print(1)</code></pre>',
    "<blockquote>q</blockquote> <blockquote expandable>long</blockquote>",
    '<tg-time unix="1647531900" format="wDT">22:45 tomorrow</tg-time>',
    "<b>bold <i>italic bold <u>underline</u></i></b>",
    "&lt;tag&gt; &amp; &quot; &#39; &#x1F600; 5 > 3",
    "<B>upper case tags</B>",
    "no markup at all, ë and 😀",
]


@pytest.mark.parametrize("text", GOOD_HTML)
def test_good_html_passes(spec: ApiSpec, text: str) -> None:
    assert spec.check("sendMessage", send(text=text, parse_mode="HTML")) == []


BAD_HTML = [
    ("<b>x", "can't find end tag"),
    ("x</i>", "unexpected end tag"),
    ("<b><i>x</b></i>", "unmatched end tag"),
    ("<script>alert(1)</script>", 'unsupported start tag "script"'),
    ("<br>", 'unsupported start tag "br"'),
    ("<b/>", "unescaped '<'"),
    ("a < b", "unescaped '<'"),
    ("a &nbsp; b", "&nbsp;"),
    ("AT&T", "unescaped '&'"),
    ("&#0;", "entity"),
    ("<span>x</span>", "tg-spoiler"),
    ('<span class="x">x</span>', "tg-spoiler"),
    ('<b class="x">x</b>', 'unsupported attribute "class"'),
    ("<a>x</a>", '"href"'),
    ('<a href="https://x.org" target="_blank">x</a>', '"target"'),
    ('<code class="language-py">x</code>', 'only allowed inside "pre"'),
    ('<pre><code class="py">x</code></pre>', "language-"),
    ('<blockquote expandable="yes">x</blockquote>', "takes no value"),
    ("<tg-emoji>x</tg-emoji>", '"emoji-id"'),
    ('<tg-time unix="soon">x</tg-time>', "integer"),
]


@pytest.mark.parametrize(("text", "fragment"), BAD_HTML)
def test_bad_html_is_refused(spec: ApiSpec, text: str, fragment: str) -> None:
    violations = spec.check("sendMessage", send(text=text, parse_mode="html"))
    only(violations, "can't parse entities", fragment)


def test_html_is_checked_in_captions_and_nested_objects(spec: ApiSpec) -> None:
    params = {"chat_id": "1", "photo": "ID", "caption": "<b>x", "parse_mode": "HTML"}
    only(spec.check("sendPhoto", params), "caption: can't parse entities")
    media = [
        {"type": "photo", "media": "A", "caption": "<i>ok</i>", "parse_mode": "HTML"},
        {"type": "photo", "media": "B", "caption": "1 < 2", "parse_mode": "HTML"},
    ]
    only(
        spec.check("sendMediaGroup", {"chat_id": "1", "media": json.dumps(media)}),
        "media[1].caption: can't parse entities",
    )


def test_html_is_not_checked_without_parse_mode(spec: ApiSpec) -> None:
    assert spec.check("sendMessage", send(text="a < b & <script>")) == []


def test_unsupported_parse_mode(spec: ApiSpec) -> None:
    only(spec.check("sendMessage", send(parse_mode="HTM")), "unsupported parse_mode")


def test_parse_html_gives_visible_text_and_entities() -> None:
    parsed = parse_html('😀 <b>Mirë <i>se</i></b> <a href="https://x.org">erdhe</a> &amp;')
    assert parsed.text == "😀 Mirë se erdhe &"
    assert parsed.entities == [
        {"type": "bold", "offset": 3, "length": 7},
        {"type": "italic", "offset": 8, "length": 2},
        {"type": "text_link", "url": "https://x.org", "offset": 11, "length": 5},
    ]
    pre = parse_html('<pre><code class="language-python">x</code></pre>')
    assert pre.entities == [{"type": "pre", "language": "python", "offset": 0, "length": 1}]
    with pytest.raises(HtmlError):
        parse_html("<b>")
    assert visible_text("*a* \\_ [b](https://x.org)", "MarkdownV2") == "a _ b"


# ---- types ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "params", "fragment"),
    [
        ("editMessageText", {"chat_id": "1", "message_id": "two", "text": "x"}, "message_id"),
        ("sendMessage", send(disable_notification="maybe"), "disable_notification"),
        ("sendMessage", {"chat_id": 1001, "text": 42}, "text: expected String"),
        ("sendMessage", {"chat_id": 1.5, "text": "x"}, "chat_id: expected Integer or String"),
        ("sendMessage", send(reply_markup="{not json"), "can't parse"),
        ("sendMessage", send(reply_markup='{"inline_keyboard": "x"}'), "inline_keyboard"),
        ("sendLocation", {"chat_id": "1", "latitude": "north", "longitude": "1"}, "latitude"),
    ],
)
def test_wrong_types_are_refused(
    spec: ApiSpec, method: str, params: dict[str, Any], fragment: str
) -> None:
    only(spec.check(method, params), fragment)


def test_floats_and_union_values_pass(spec: ApiSpec) -> None:
    assert (
        spec.check("sendLocation", {"chat_id": "@kanal", "latitude": "41.3", "longitude": "19"})
        == []
    )


def test_bad_nested_objects_are_refused(spec: ApiSpec) -> None:
    extra = keyboard([{"text": "a", "callback_data": "x", "colour": "red"}])
    only(
        spec.check("sendMessage", send(reply_markup=extra)),
        "inline_keyboard[0][0].colour: unknown field of InlineKeyboardButton",
    )
    no_text = keyboard([{"callback_data": "x"}])
    only(spec.check("sendMessage", send(reply_markup=no_text)), "[0][0].text: required field")
    int_data = keyboard([{"text": "a", "callback_data": 7}])
    only(spec.check("sendMessage", send(reply_markup=int_data)), "callback_data: expected String")
    not_rows = json.dumps({"inline_keyboard": [{"text": "a", "callback_data": "x"}]})
    only(spec.check("sendMessage", send(reply_markup=not_rows)), "expected Array of")


def test_inline_button_needs_exactly_one_action(spec: ApiSpec) -> None:
    # From the type's description: "Exactly one of the fields other than text, ... must be used".
    only(
        spec.check("sendMessage", send(reply_markup=keyboard([{"text": "just text"}]))),
        "exactly one of url, callback_data",
        "got none",
    )
    both = keyboard([{"text": "a", "callback_data": "x", "url": "https://x.org"}])
    only(spec.check("sendMessage", send(reply_markup=both)), "got url, callback_data")


def test_reply_markup_union(spec: ApiSpec) -> None:
    for markup in (
        {"keyboard": [["Po", {"text": "Jo"}]], "resize_keyboard": True},
        {"remove_keyboard": True},
        {"force_reply": True, "input_field_placeholder": "Shkruaj..."},
    ):
        assert spec.check("sendMessage", send(reply_markup=json.dumps(markup))) == [], markup
    only(spec.check("sendMessage", send(reply_markup='{"remove_keyboard": "yes"}')), "Boolean")


def test_abstract_types_use_the_discriminator(spec: ApiSpec) -> None:
    commands = json.dumps([{"command": "start", "description": "Fillo"}])

    def scoped(scope: dict[str, Any]) -> list[str]:
        return spec.check("setMyCommands", {"commands": commands, "scope": json.dumps(scope)})

    assert scoped({"type": "default"}) == []
    assert scoped({"type": "chat", "chat_id": 1001}) == []
    only(scoped({"type": "chat"}), "scope.chat_id: required field is missing")
    only(scoped({"type": "everyone"}), "scope.type", "'all_private_chats'")
    only(scoped({"type": "default", "chat_id": 1}), "scope.chat_id: unknown field")
    button = {"type": "web_app", "text": "App", "web_app": {"url": "https://x.org"}}
    assert spec.check("setChatMenuButton", {"menu_button": json.dumps(button)}) == []


# ---- files ------------------------------------------------------------------------------------


def test_uploaded_file_satisfies_an_input_file_parameter(spec: ApiSpec) -> None:
    assert spec.check("sendDocument", {"chat_id": "1"}, files=["document"]) == []
    only(spec.check("sendDocument", {"chat_id": "1"}), "document: required parameter")
    only(
        spec.check("sendDocument", {"chat_id": "1"}, files=["document", "extra"]),
        "extra: unknown parameter",
    )


def test_attach_references_must_match_file_parts(spec: ApiSpec) -> None:
    media = json.dumps(
        [{"type": "photo", "media": "attach://one"}, {"type": "photo", "media": "attach://two"}]
    )
    params = {"chat_id": "1", "media": media}
    assert spec.check("sendMediaGroup", params, files=["one", "two"]) == []
    only(spec.check("sendMediaGroup", params, files=["one"]), "attach://two")


# ---- building values --------------------------------------------------------------------------


def test_built_values_are_valid(spec: ApiSpec) -> None:
    for type_name in ("User", "Message", "ChatFullInfo", "WebhookInfo", "BotCommandScope"):
        assert spec.check_object(type_name, spec.build(type_name)) == [], type_name
    assert spec.build_result("answerCallbackQuery") is True
    assert spec.build_result("copyMessage") == {"message_id": 0}
    assert spec.build_result("getUpdates") == []
