"""Checks Bot API requests against Telegram's own machine-readable API description (api.json)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

__all__ = [
    "API_JSON",
    "ApiSpec",
    "FieldSpec",
    "HtmlError",
    "ObjectSpec",
    "ParsedText",
    "Range",
    "parse_html",
    "utf16_len",
    "visible_text",
]

API_JSON = Path(__file__).with_name("api.json")


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units, so most emoji count twice."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    # Telegram reports HTML errors at UTF-8 byte offsets; only computed on the error path.
    return len(text[:index].encode("utf-8"))


# --------------------------------------------------------------------------------------------
# HTML parse mode
# --------------------------------------------------------------------------------------------


class HtmlError(ValueError):
    """Telegram would answer "Bad Request: can't parse entities: <message>"."""


@dataclass(frozen=True, slots=True)
class ParsedText:
    """The text a person sees and the entities Telegram would attach to it."""

    text: str
    entities: list[dict[str, Any]]


_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
}
_SPECIAL = re.compile(r"[<&]")
_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,8})|#[xX]([0-9a-fA-F]{1,8}));")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_END_TAG = re.compile(r"</([A-Za-z][A-Za-z0-9-]*)\s*>")
_ATTR_SRC = r"""[A-Za-z_][A-Za-z0-9_-]*(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?"""
_START_TAG = re.compile(rf"<([A-Za-z][A-Za-z0-9-]*)((?:\s+{_ATTR_SRC})*)\s*>")
_ATTR = re.compile(
    r"""([A-Za-z_][A-Za-z0-9_-]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?"""
)


def _decode_entities(text: str, where: str) -> str:
    """Unescapes attribute values with the same strictness as text."""
    if "&" not in text:
        return text
    out: list[str] = []
    i = 0
    while (j := text.find("&", i)) >= 0:
        out.append(text[i:j])
        m = _ENTITY.match(text, j)
        char = _entity_char(m) if m else None
        if m is None or char is None:
            raise HtmlError(f"unsupported HTML entity or unescaped '&' in {where}; use &amp;")
        out.append(char)
        i = m.end()
    out.append(text[i:])
    return "".join(out)


def _entity_char(m: re.Match[str]) -> str | None:
    named, dec, hexa = m.groups()
    if named:
        return _NAMED_ENTITIES[named]
    code = int(dec) if dec else int(hexa, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code)


@dataclass(slots=True)
class _OpenTag:
    name: str
    start: int  # UTF-16 offset in the visible text
    entity: dict[str, Any] | None
    index: int  # character index of '<' in the source, for error messages


def _open_tag(
    name: str, attrs: dict[str, str | None], parent: _OpenTag | None, date_time: bool
) -> dict[str, Any] | None:
    """Validates one start tag the way Telegram documents it; returns its entity skeleton."""

    def allow(*names: str) -> None:
        for attr in attrs:
            if attr not in names:
                raise HtmlError(f'tag "{name}" has unsupported attribute "{attr}"')

    def need(attr: str) -> str:
        value = attrs.get(attr)
        if not value:
            raise HtmlError(f'tag "{name}" must have a non-empty attribute "{attr}"')
        return value

    if name in _SIMPLE_TAGS:
        allow()
        return {"type": _SIMPLE_TAGS[name]}
    if name == "span":
        allow("class")
        if attrs.get("class") != "tg-spoiler":
            raise HtmlError('tag "span" must have class "tg-spoiler"')
        return {"type": "spoiler"}
    if name == "a":
        allow("href")
        return {"type": "text_link", "url": need("href")}
    if name == "tg-emoji":
        allow("emoji-id")
        return {"type": "custom_emoji", "custom_emoji_id": need("emoji-id")}
    if name == "pre":
        allow()
        return {"type": "pre"}
    if name == "code":
        allow("class")
        language = attrs.get("class")
        if language is None:
            return None if parent is not None and parent.name == "pre" else {"type": "code"}
        if not language.startswith("language-") or len(language) == len("language-"):
            raise HtmlError('tag "code" accepts only class="language-<name>"')
        if parent is None or parent.name != "pre" or parent.entity is None:
            raise HtmlError('class "language-..." on tag "code" is only allowed inside "pre"')
        parent.entity["language"] = language[len("language-") :]
        return None  # Telegram folds <pre><code class=...> into one pre entity
    if name == "blockquote":
        allow("expandable")
        if attrs.get("expandable"):
            raise HtmlError('attribute "expandable" of tag "blockquote" takes no value')
        return {"type": "expandable_blockquote" if "expandable" in attrs else "blockquote"}
    if name == "tg-time" and date_time:
        allow("unix", "format")
        unix = need("unix")
        if not re.fullmatch(r"-?\d+", unix):
            raise HtmlError('attribute "unix" of tag "tg-time" must be an integer')
        entity: dict[str, Any] = {"type": "date_time", "unix_time": int(unix)}
        if attrs.get("format"):
            entity["date_time_format"] = attrs["format"]
        return entity
    raise HtmlError(f'unsupported start tag "{name}"')


def parse_html(text: str, *, date_time: bool = True) -> ParsedText:
    """Parses Telegram-flavoured HTML strictly; raises HtmlError where Telegram would refuse.

    Stricter than Telegram's server in one documented way: a bare '&' that does not start one
    of &lt; &gt; &amp; &quot; or a numeric entity is refused (the Bot API docs require it to be
    escaped; the server happens to keep it), because it almost always means a missing escape.
    """
    out: list[str] = []
    pos = 0
    stack: list[_OpenTag] = []
    entities: list[dict[str, Any]] = []
    i = 0
    n = len(text)
    while True:
        m = _SPECIAL.search(text, i)
        end = m.start() if m else n
        if end > i:
            chunk = text[i:end]
            out.append(chunk)
            pos += utf16_len(chunk)
        if m is None:
            break
        i = end
        if text[i] == "&":
            em = _ENTITY.match(text, i)
            char = _entity_char(em) if em else None
            if em is None or char is None:
                snippet = text[i : i + 12].split(" ")[0]
                raise HtmlError(
                    f"unsupported HTML entity or unescaped '&' at byte offset "
                    f"{_byte_offset(text, i)} ({snippet!r}); only &lt; &gt; &amp; &quot; and "
                    "numeric entities are allowed, so write '&' as &amp;"
                )
            out.append(char)
            pos += 2 if ord(char) > 0xFFFF else 1
            i = em.end()
            continue
        if text.startswith("</", i):
            em = _END_TAG.match(text, i)
            if em is None:
                raise HtmlError(
                    f"unescaped '<' at byte offset {_byte_offset(text, i)}; write it as &lt;"
                )
            name = em.group(1).lower()
            if not stack:
                raise HtmlError(
                    f'unexpected end tag "{name}" at byte offset {_byte_offset(text, i)}'
                )
            top = stack.pop()
            if top.name != name:
                raise HtmlError(
                    f"unmatched end tag at byte offset {_byte_offset(text, i)}, "
                    f'expected "</{top.name}>", found "</{name}>"'
                )
            if top.entity is not None and pos > top.start:
                top.entity["offset"] = top.start
                top.entity["length"] = pos - top.start
                entities.append(top.entity)
            i = em.end()
            continue
        sm = _START_TAG.match(text, i)
        if sm is None:
            raise HtmlError(
                f"unescaped '<' at byte offset {_byte_offset(text, i)}; write it as &lt;"
            )
        name = sm.group(1).lower()
        attrs: dict[str, str | None] = {}
        for am in _ATTR.finditer(sm.group(2)):
            raw = am.group(2) if am.group(2) is not None else am.group(3)
            if raw is None:
                raw = am.group(4)
            attrs[am.group(1).lower()] = (
                None if raw is None else _decode_entities(raw, f'tag "{name}"')
            )
        try:
            entity = _open_tag(name, attrs, stack[-1] if stack else None, date_time)
        except HtmlError as exc:
            raise HtmlError(f"{exc} at byte offset {_byte_offset(text, i)}") from None
        stack.append(_OpenTag(name, pos, entity, i))
        i = sm.end()
    if stack:
        top = stack[-1]
        raise HtmlError(
            f'can\'t find end tag corresponding to start tag "{top.name}" '
            f"(byte offset {_byte_offset(text, top.index)})"
        )
    # Telegram lists entities by offset, the outer (longer) one first.
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return ParsedText("".join(out), entities)


_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_MD2_MARKUP = re.compile(r"\\(.)|[*_~|`]|^>", re.S | re.M)
_MD1_MARKUP = re.compile(r"[*_`]")


def visible_text(text: str, parse_mode: str | None, *, date_time: bool = True) -> str:
    """What a person sees. Exact for HTML; for Markdown a lower bound (markup removed)."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        return parse_html(text, date_time=date_time).text
    if mode == "markdownv2":
        return _MD2_MARKUP.sub(lambda m: m.group(1) or "", _MD_LINK.sub(r"\1", text))
    if mode == "markdown":
        return _MD1_MARKUP.sub("", _MD_LINK.sub(r"\1", text))
    return text


# --------------------------------------------------------------------------------------------
# The API description, indexed once
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Range:
    """An inclusive range written in a description as "low-high"."""

    low: int
    high: int


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One parameter of a method or field of a type, with the limits parsed from its text."""

    name: str
    types: tuple[str, ...]
    required: bool
    description: str
    chars: Range | None = None  # String length in UTF-16 code units
    nbytes: Range | None = None  # String length in UTF-8 bytes
    after_parsing: bool = False  # the length counts visible text, not markup
    values: Range | None = None  # Integer / Float bounds
    items: Range | None = None  # Array length
    parse_mode_field: str | None = None  # sibling that says how to parse this text
    required_unless: tuple[str, ...] = ()  # required when none of these siblings is given
    required_with: tuple[str, ...] = ()  # required when any of these siblings is given

    @property
    def accepts_file(self) -> bool:
        return "InputFile" in self.types


@dataclass(slots=True)
class ObjectSpec:
    """A method (its parameters) or a type (its fields, or its subtypes if abstract)."""

    name: str
    is_method: bool
    fields: dict[str, FieldSpec]
    subtypes: tuple[str, ...] = ()
    returns: tuple[str, ...] = ()
    discriminator: tuple[str, str] | None = None  # e.g. ("type", "default")
    href: str = ""
    required: tuple[str, ...] = field(default=())
    conditional: tuple[FieldSpec, ...] = field(default=())
    one_of: tuple[str, ...] = ()  # "exactly/at most one of the fields ... must be used"
    one_of_exact: bool = False
    string_ok: bool = False  # "String can be used instead of this object"


_STR_LIMIT = re.compile(r"\b(\d+)-(\d+) (characters|bytes)\b", re.I)
_NUM_LIMIT = re.compile(r"(?<![\w.+-])(\d+)-(\d+)(?=$|[.,;)]| are accepted)")
_ITEM_LIMIT = re.compile(r"\b(\d+)-(\d+) (?!characters|bytes)[\w-]+", re.I)
_REQ_UNLESS = re.compile(
    r"\b[Rr]equired if (\w+)(?: and (\w+))? (?:is|are) not specified"
    r"|\b[Rr]equired if (\w+) isn't specified"
)
_REQ_WITH = re.compile(r"\b[Rr]equired if (\w+) is specified")
_DISCRIMINATOR = re.compile(r"\b(?:always|must be) (?!one of)\"?([A-Za-z_][\w-]*)\"?")
_ONE_OF_OTHER = re.compile(
    r"\b(Exactly|At most) one of the fields other than ([\w, ]+?) must be used", re.I
)
_ONE_OF_PAIR = re.compile(
    r"\b(Exactly|At most) one of the fields (\w+) or (\w+) must be used", re.I
)
_ONE_OF_OPTIONAL = re.compile(r"\b(exactly|at most) one of the optional fields", re.I)
_INT = re.compile(r"[-+]?\d+")
_FLOAT = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_BOOLS = {"true": True, "false": False, "1": True, "0": False}
_PARSE_MODES = frozenset({"html", "markdown", "markdownv2"})
_PRIMITIVE_DEFAULTS: dict[str, Any] = {
    "Integer": 0,
    "Float": 0.0,
    "String": "",
    "Boolean": False,
    "InputFile": "",
}
_TEXT_FIELDS = ("message_text", "text", "caption", "title")


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Integer"
    if isinstance(value, float):
        return "Float"
    if isinstance(value, str):
        return "String"
    if isinstance(value, list):
        return "Array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _make_field(raw: Mapping[str, Any]) -> FieldSpec:
    types = tuple(raw["types"])
    desc: str = raw.get("description", "")
    chars = nbytes = values = items = None
    if "String" in types and (m := _STR_LIMIT.search(desc)):
        rng = Range(int(m.group(1)), int(m.group(2)))
        if m.group(3).lower() == "bytes":
            nbytes = rng
        else:
            chars = rng
    if any(t in ("Integer", "Float") for t in types) and (m := _NUM_LIMIT.search(desc)):
        values = Range(int(m.group(1)), int(m.group(2)))
    if any(t.startswith("Array of ") for t in types) and (m := _ITEM_LIMIT.search(desc)):
        items = Range(int(m.group(1)), int(m.group(2)))
    return FieldSpec(
        name=raw["name"],
        types=types,
        required=bool(raw.get("required")),
        description=desc,
        chars=chars,
        nbytes=nbytes,
        after_parsing="after entit" in desc,
        values=values,
        items=items,
    )


def _link_fields(fields: dict[str, FieldSpec]) -> dict[str, FieldSpec]:
    """Second pass over one object: parse-mode siblings and conditional requirements."""
    parse_mode_of: dict[str, str] = {}
    for name in fields:
        if name.endswith("_parse_mode") and name[: -len("_parse_mode")] in fields:
            parse_mode_of[name[: -len("_parse_mode")]] = name
    if "parse_mode" in fields:
        targets = [
            f.name for f in fields.values() if f.after_parsing and f.name not in parse_mode_of
        ]
        if not targets:
            targets = [n for n in _TEXT_FIELDS if n in fields][:1]
        for name in targets:
            parse_mode_of[name] = "parse_mode"
    linked: dict[str, FieldSpec] = {}
    for name, f in fields.items():
        unless: tuple[str, ...] = ()
        with_: tuple[str, ...] = ()
        if not f.required:
            if m := _REQ_UNLESS.search(f.description):
                unless = tuple(g for g in m.groups() if g and g in fields)
            if m := _REQ_WITH.search(f.description):
                with_ = tuple(g for g in m.groups() if g and g in fields)
        linked[name] = FieldSpec(
            name=f.name,
            types=f.types,
            required=f.required,
            description=f.description,
            chars=f.chars,
            nbytes=f.nbytes,
            after_parsing=f.after_parsing,
            values=f.values,
            items=f.items,
            parse_mode_field=parse_mode_of.get(name),
            required_unless=unless,
            required_with=with_,
        )
    return linked


def _make_object(raw: Mapping[str, Any], is_method: bool) -> ObjectSpec:
    fields = _link_fields({f["name"]: _make_field(f) for f in raw.get("fields", [])})
    discriminator = None
    for key in ("type", "status", "source"):
        f = fields.get(key)
        if f is not None and f.required and (m := _DISCRIMINATOR.search(f.description)):
            discriminator = (key, m.group(1))
            break
    doc = " ".join(raw.get("description", []))
    one_of: tuple[str, ...] = ()
    exact = False
    if m := _ONE_OF_OTHER.search(doc):
        exempt = set(re.findall(r"\w+", m.group(2)))
        one_of, exact = tuple(n for n in fields if n not in exempt), m.group(1).lower() == "exactly"
    elif m := _ONE_OF_PAIR.search(doc):
        one_of, exact = (m.group(2), m.group(3)), m.group(1).lower() == "exactly"
    elif m := _ONE_OF_OPTIONAL.search(doc):
        one_of = tuple(n for n, f in fields.items() if not f.required)
        exact = m.group(1).lower() == "exactly"
    return ObjectSpec(
        name=raw["name"],
        is_method=is_method,
        fields=fields,
        subtypes=tuple(raw.get("subtypes", ())),
        returns=tuple(raw.get("returns", ())),
        discriminator=discriminator,
        href=raw.get("href", ""),
        required=tuple(n for n, f in fields.items() if f.required),
        conditional=tuple(f for f in fields.values() if f.required_unless or f.required_with),
        one_of=one_of,
        one_of_exact=exact,
        string_ok="String can be used instead of this object" in doc,
    )


class ApiSpec:
    """The Bot API as described by api.json, indexed for cheap per-request checks."""

    def __init__(self, path: Path | str = API_JSON) -> None:
        with open(path, encoding="utf-8") as fh:
            raw = json.load(fh)
        self.version: str = raw.get("version", "")
        self.release_date: str = raw.get("release_date", "")
        self.methods: dict[str, ObjectSpec] = {
            name: _make_object(m, True) for name, m in raw["methods"].items()
        }
        self.types: dict[str, ObjectSpec] = {
            name: _make_object(t, False) for name, t in raw["types"].items()
        }
        # Telegram matches method names case-insensitively (/bot<token>/SENDMESSAGE works).
        self._method_names = {name.lower(): name for name in self.methods}
        entity = self.types.get("MessageEntity")
        type_doc = entity.fields["type"].description if entity and "type" in entity.fields else ""
        # <tg-time> exists in HTML exactly when the API has date_time entities.
        self.date_time_entities: bool = '"date_time"' in type_doc

    @staticmethod
    @cache
    def default() -> ApiSpec:
        """The bundled api.json, loaded once per process."""
        return ApiSpec()

    # ---- public checks -------------------------------------------------------------------

    def method_name(self, name: str) -> str | None:
        """The canonical spelling of a method name, or None if the API has no such method."""
        return self._method_names.get(name.lower())

    def check(self, method: str, params: Mapping[str, Any], files: Iterable[str] = ()) -> list[str]:
        """Violations of one request; an empty list means Telegram would accept it."""
        return self.parse(method, params, files)[1]

    def parse(
        self, method: str, params: Mapping[str, Any], files: Iterable[str] = ()
    ) -> tuple[dict[str, Any], list[str]]:
        """Decodes parameters as Telegram does and checks them.

        `params` may come from a form (every value a string, objects JSON-encoded) or from a
        JSON body (values already typed); `files` names the multipart file parts. Returns the
        decoded parameters (ints as ints, objects as dicts) and the violations.
        """
        out: list[str] = []
        canonical = self.method_name(method)
        if canonical is None:
            return dict(params), [f"unknown method {method!r}"]
        spec = self.methods[canonical]
        decoded: dict[str, Any] = {}
        undecodable: set[str] = set()
        for key, value in params.items():
            f = spec.fields.get(key)
            if f is not None and isinstance(value, str):
                value, error = self._decode_form_value(value, f)
                if error:
                    out.append(f"{key}: {error}")
                    undecodable.add(key)
            decoded[key] = value

        file_names = set(files)
        file_params = {n for n in file_names if (f := spec.fields.get(n)) and f.accepts_file}
        checked = {k: v for k, v in decoded.items() if k not in undecodable}
        self._check_fields(checked, spec, "", out, present=frozenset(file_params | undecodable))
        extra_files = file_names - file_params
        # attach:// references can only hide in JSON; skip the walk for plain form requests.
        may_attach = bool(file_names) or any(
            not isinstance(v, str) or "attach://" in v for v in params.values()
        )
        refs = set(_attach_refs(decoded.values())) if may_attach else set()
        for name in sorted(extra_files - refs):
            out.append(f"{name}: unknown parameter (a file part nothing refers to)")
        for ref in sorted(refs - file_names):
            out.append(f"attach://{ref}: no file part named {ref!r} was uploaded")
        return decoded, out

    def check_object(self, type_name: str, value: Any, path: str = "") -> list[str]:
        """Violations of a value against a type, e.g. an Update you are about to push."""
        out: list[str] = []
        self._check_value(value, (type_name,), path or type_name, out)
        return out

    def build(self, type_expr: str, _depth: int = 0) -> Any:
        """A minimal valid value of a type: every required field, nothing optional."""
        if type_expr in _PRIMITIVE_DEFAULTS:
            return _PRIMITIVE_DEFAULTS[type_expr]
        if type_expr.startswith("Array of "):
            return []
        spec = self.types.get(type_expr)
        if spec is None or _depth > 8:
            return {}
        if spec.subtypes:
            return self.build(spec.subtypes[0], _depth + 1)
        obj = {name: self.build(spec.fields[name].types[0], _depth + 1) for name in spec.required}
        if spec.discriminator:
            obj[spec.discriminator[0]] = spec.discriminator[1]
        return obj

    def build_result(self, method: str) -> Any:
        """A plausible return value of a method from its documented return type."""
        spec = self.methods[self.method_name(method) or method]
        returns = spec.returns[0] if spec.returns else "Boolean"
        return True if returns == "Boolean" else self.build(returns)

    # ---- internals -----------------------------------------------------------------------

    @staticmethod
    def _decode_form_value(value: str, f: FieldSpec) -> tuple[Any, str | None]:
        text_ok = False
        for t in f.types:
            if t == "Integer":
                if _INT.fullmatch(value):
                    return int(value), None
            elif t == "Float":
                if _FLOAT.fullmatch(value):
                    return float(value), None
            elif t == "Boolean":
                if (b := _BOOLS.get(value.lower())) is not None:
                    return b, None
            elif t in ("String", "InputFile"):
                text_ok = True
            else:  # objects and arrays travel JSON-serialized in forms
                try:
                    return json.loads(value), None
                except ValueError as exc:
                    return value, f"can't parse {' or '.join(f.types)} JSON: {exc}"
        if text_ok:
            return value, None
        return value, f"expected {' or '.join(f.types)}, got {_short(value)}"

    def _check_fields(
        self,
        obj: Mapping[str, Any],
        spec: ObjectSpec,
        path: str,
        out: list[str],
        present: frozenset[str] = frozenset(),
    ) -> None:
        prefix = f"{path}." if path else ""
        fields = spec.fields
        for key, value in obj.items():
            f = fields.get(key)
            if f is None:
                what = "parameter" if spec.is_method else f"field of {spec.name}"
                out.append(f"{prefix}{key}: unknown {what}")
                continue
            if value is None:  # JSON null is how clients say "not given"
                continue
            here = prefix + key
            before = len(out)
            self._check_value(value, f.types, here, out)
            if len(out) > before:
                continue
            if isinstance(value, str):
                if f.chars or f.nbytes or f.parse_mode_field:
                    self._check_text(value, f, obj, prefix, out)
            elif isinstance(value, list):
                if f.items and not f.items.low <= len(value) <= f.items.high:
                    out.append(
                        f"{here}: has {len(value)} items, must have {f.items.low}-{f.items.high}"
                    )
            elif (
                f.values
                and isinstance(value, int | float)
                and not f.values.low <= value <= f.values.high
            ):
                out.append(f"{here}: {value} is out of range {f.values.low}-{f.values.high}")

        def given(name: str) -> bool:
            return obj.get(name) is not None or name in present

        what = "parameter" if spec.is_method else "field"
        for name in spec.required:
            if not given(name):
                out.append(f"{prefix}{name}: required {what} is missing")
        reported: set[str] = set()
        for f in spec.conditional:
            if given(f.name):
                continue
            if f.required_unless and not any(given(n) for n in f.required_unless):
                # "text unless rich_message" and "rich_message unless text" are one problem.
                if not reported.intersection(f.required_unless):
                    others = " or ".join(f.required_unless)
                    out.append(f"{prefix}{f.name}: required {what} is missing (no {others} given)")
                reported.add(f.name)
            elif f.required_with and any(given(n) for n in f.required_with):
                others = " or ".join(f.required_with)
                out.append(f"{prefix}{f.name}: required {what} is missing ({others} is given)")
        if spec.one_of:
            chosen = [n for n in spec.one_of if given(n)]
            if len(chosen) > 1 or (spec.one_of_exact and not chosen):
                amount = "exactly" if spec.one_of_exact else "at most"
                out.append(
                    f"{path or spec.name}: {amount} one of {', '.join(spec.one_of)} must be "
                    f"given, got {', '.join(chosen) or 'none'}"
                )

    def _check_text(
        self, value: str, f: FieldSpec, obj: Mapping[str, Any], prefix: str, out: list[str]
    ) -> None:
        here = prefix + f.name
        mode = obj.get(f.parse_mode_field) if f.parse_mode_field else None
        visible = value
        if isinstance(mode, str) and mode:
            if mode.lower() not in _PARSE_MODES:
                out.append(
                    f"{prefix}{f.parse_mode_field}: unsupported parse_mode {mode!r} "
                    "(HTML, MarkdownV2 or Markdown)"
                )
                return
            try:
                visible = visible_text(value, mode, date_time=self.date_time_entities)
            except HtmlError as exc:
                out.append(f"{here}: can't parse entities: {exc}")
                return
        if f.chars:
            low, high = f.chars.low, f.chars.high
            count = utf16_len(visible)
            after = " after entities parsing" if visible is not value else ""
            if count > high:
                out.append(
                    f"{here}: too long, {count} characters{after} (UTF-16 units), "
                    f"limit {low}-{high}"
                )
            elif low > 0 and not visible.strip():
                out.append(f"{here}: must be non-empty (Telegram: text must be non-empty)")
            elif count < low:
                out.append(f"{here}: too short, {count} characters, limit {low}-{high}")
        if f.nbytes:
            size = len(value.encode("utf-8"))
            if not f.nbytes.low <= size <= f.nbytes.high:
                hint = " (Telegram: BUTTON_DATA_INVALID)" if f.name == "callback_data" else ""
                out.append(
                    f"{here}: {size} bytes in UTF-8, limit {f.nbytes.low}-{f.nbytes.high}{hint}"
                )

    def _check_value(self, value: Any, types: tuple[str, ...], path: str, out: list[str]) -> None:
        if len(types) == 1:
            self._check_single(value, types[0], path, out)
            return
        best: tuple[tuple[int, int], list[str]] | None = None
        for t in types:
            if not self._kind_ok(value, t):
                continue
            errors: list[str] = []
            self._check_single(value, t, path, errors)
            if not errors:
                return
            # Report the alternative the caller most plausibly meant: most fields in common.
            score = (-self._overlap(value, t), len(errors))
            if best is None or score < best[0]:
                best = (score, errors)
        if best is None:
            out.append(f"{path}: expected {' or '.join(types)}, got {_kind(value)} {_short(value)}")
        else:
            out.extend(best[1])

    def _kind_ok(self, value: Any, t: str) -> bool:
        if t == "Integer":
            return isinstance(value, int) and not isinstance(value, bool)
        if t == "Float":
            return isinstance(value, int | float) and not isinstance(value, bool)
        if t in ("String", "InputFile"):
            return isinstance(value, str)
        if t == "Boolean":
            return isinstance(value, bool)
        if t.startswith("Array of "):
            return isinstance(value, list)
        spec = self.types.get(t)
        if spec is None:
            return True
        if spec.string_ok and isinstance(value, str):
            return True
        if spec.subtypes:
            return any(self._kind_ok(value, s) for s in spec.subtypes if s != t)
        return isinstance(value, dict)

    def _overlap(self, value: Any, t: str) -> int:
        spec = self.types.get(t)
        if spec is None or not isinstance(value, dict):
            return 0
        return sum(1 for key in value if key in spec.fields)

    def _check_single(self, value: Any, t: str, path: str, out: list[str]) -> None:
        if t in _PRIMITIVE_DEFAULTS:
            if not self._kind_ok(value, t):
                out.append(f"{path}: expected {t}, got {_kind(value)} {_short(value)}")
            return
        if t.startswith("Array of "):
            if not isinstance(value, list):
                out.append(f"{path}: expected {t}, got {_kind(value)} {_short(value)}")
                return
            inner = t[len("Array of ") :]
            for i, item in enumerate(value):
                self._check_single(item, inner, f"{path}[{i}]", out)
            return
        spec = self.types.get(t)
        if spec is None or (spec.string_ok and isinstance(value, str)):
            return
        if spec.subtypes:
            self._check_abstract(value, spec, path, out)
        elif not isinstance(value, dict):
            out.append(f"{path}: expected {t} object, got {_kind(value)} {_short(value)}")
        else:
            self._check_fields(value, spec, path, out)

    def _check_abstract(self, value: Any, spec: ObjectSpec, path: str, out: list[str]) -> None:
        candidates = spec.subtypes
        if isinstance(value, dict):
            tagged = [
                (s, d)
                for s in candidates
                if (sub := self.types.get(s)) is not None and (d := sub.discriminator)
            ]
            if tagged:
                key = tagged[0][1][0]
                matching = tuple(s for s, d in tagged if value.get(d[0]) == d[1])
                if not matching:
                    allowed = ", ".join(sorted({repr(d[1]) for _, d in tagged}))
                    got = value.get(key)
                    got_text = "missing" if got is None else repr(got)
                    out.append(
                        f"{path}.{key}: {got_text} is not a {spec.name} {key}; "
                        f"expected one of {allowed}"
                    )
                    return
                candidates = matching
        self._check_value(value, candidates, path, out)


def _attach_refs(values: Iterable[Any]) -> Iterator[str]:
    """Names referred to as attach://<name>, which must match uploaded multipart parts."""
    for value in values:
        if isinstance(value, str):
            if value.startswith("attach://"):
                yield value[len("attach://") :]
        elif isinstance(value, dict):
            yield from _attach_refs(value.values())
        elif isinstance(value, list):
            yield from _attach_refs(value)
