"""A Griffe extension for the documentation site: the docstrings' Sphinx roles as links.

The docstrings are written for ``help()`` and code readers, with Sphinx roles
(``:class:`Inbox```, ``:meth:`record <SubmissionResponse.record>```, ``:func:`~a.b```).
mkdocstrings reads Markdown, so each role becomes a Markdown cross-reference, resolved in
the docstring's own scope as Python would (class members, inherited ones too, then the
module's names and imports; ``.module`` paths as relative imports), and pointed at the
object's home in the reference: the public package face that documents it. A name outside
the library (a built-in, the standard library, Starlette) and a private one no face
exports (a module's limit, a helper) stay code. A name that resolves to nothing becomes a
cross-reference all the same, so that a rendered docstring naming what does not exist
fails the strict build. A reST ``::`` before a literal block becomes ``:``.

An attrs class's fields would show their declaration as their value (``attrs.field(
converter=_body)``, private helpers and all): that value is dropped, the type stays.
"""

from __future__ import annotations

import builtins
import importlib.util
import re

import griffe

PACKAGE = "order_lifecycle"

# :role:`target`, :role:`~target`, :role:`title <target>`
ROLE = re.compile(r":(?:func|class|meth|data|attr|mod|exc|obj|const):`(?P<text>[^`]+)`")
TITLED = re.compile(r"(?P<title>.+?)\s*<(?P<target>[^>]+)>")
ATTRS_FIELD = re.compile(r"(attrs\.)?field\(")
LITERAL_INTRO = re.compile(r"(?m)(\S)::$")
LITERAL_ALONE = re.compile(r"(?m)^[ \t]*::\n")
# A Google-style "Raises:" section: its entries name exceptions, which Griffe links itself
# when the name is in scope.
RAISES = re.compile(
    r"(?m)^(?P<indent>[ \t]*)Raises:\n(?P<body>(?:(?P=indent)[ \t]+\S.*\n?|[ \t]*\n)+)"
)
ENTRY = re.compile(r"(?P<indent>[ \t]+)(?P<name>[A-Za-z_][\w.]*)(?P<rest>:.*)")


def is_public(path: str) -> bool:
    """No part of ``path`` is private."""
    return not any(part.startswith("_") for part in path.split("."))


class Library:
    """The loaded package: what the reference documents, and where.

    A page documents a face's exports, and each class's public members, inherited ones
    included (the site sets ``inherited_members``). ``homes`` maps each such object's
    canonical path (where it is defined) to the path it is documented under; ``by_name``
    maps an exported name to its homes, for names a docstring uses without importing them.
    """

    def __init__(self, package: griffe.Module) -> None:
        self.collection = package.modules_collection
        self.homes: dict[str, str] = {}
        self.by_name: dict[str, set[str]] = {}
        for face in faces(package):
            if face is package:
                continue  # the top level only re-exports: its page lists them
            for name in map(str, face.exports or ()):
                if name in face.members:
                    self.document(f"{face.path}.{name}", face.members[name])
                    self.by_name.setdefault(name, set()).add(f"{face.path}.{name}")

    def document(self, home: str, obj: griffe.Object | griffe.Alias) -> None:
        """Record ``obj``, documented at ``home``, and its public members under it."""
        target = final(obj)
        if target is None:
            return
        canonical = target.path
        # An object two faces export is documented at its canonical path when that is public.
        if canonical not in self.homes or home == canonical:
            self.homes[canonical] = home
        if target.is_class:
            for name, member in target.all_members.items():
                if not name.startswith("_"):
                    self.document(f"{home}.{name}", member)

    def canonical(self, path: str) -> str:
        """Where the object at ``path`` is defined: every alias on the way followed."""
        first, *parts = path.split(".")
        try:
            obj: griffe.Object | griffe.Alias | None = self.collection[first]
        except KeyError:
            return path
        for index, part in enumerate(parts):
            target = final(obj)
            members = target.all_members if target is not None and target.is_class else None
            if target is None or part not in (members or target.members):
                prefix = target.path if target is not None else first
                return ".".join([prefix, *parts[index:]])
            obj = (members or target.members)[part]
        target = final(obj)
        return target.path if target is not None else path

    def home(self, path: str) -> str | None:
        """Where the reference documents ``path``: its home; ``path`` if public; None if private."""
        canonical = self.canonical(path)
        if canonical in self.homes:
            return self.homes[canonical]
        return path if is_public(path) else None

    def named(self, name: str) -> str | None:
        """The one exported object called ``name`` (the first part of a dotted one)."""
        first, _, rest = name.partition(".")
        homes = {self.homes.get(self.canonical(home), home) for home in self.by_name.get(first, ())}
        if len(homes) != 1:
            return None
        (home,) = homes
        return f"{home}.{rest}" if rest else home


def faces(module: griffe.Module) -> list[griffe.Module]:
    """The public modules from ``module`` down: ``module`` first."""
    found = [module]
    for member in module.members.values():
        if isinstance(member, griffe.Module) and is_public(member.path):
            found.extend(faces(member))
    return found


def final(obj: griffe.Object | griffe.Alias | None) -> griffe.Object | None:
    """What ``obj`` is, aliases followed; None when it lies outside the loaded packages."""
    try:
        return obj.final_target if isinstance(obj, griffe.Alias) else obj
    except (griffe.AliasResolutionError, griffe.CyclicAliasError):
        return None


def relative(obj: griffe.Object, target: str) -> str:
    """A ``.module.name`` target as a full path, the way a relative import reads it."""
    module = obj.module
    base: griffe.Module | None = module if module.is_init_module else module.parent  # type: ignore[assignment]
    dots = len(target) - len(target.lstrip("."))
    for _ in range(dots - 1):
        base = base.parent if base is not None else None  # type: ignore[assignment]
    prefix = base.path if base is not None else PACKAGE
    return f"{prefix}.{target.lstrip('.')}"


def in_scope(obj: griffe.Object, name: str) -> str | None:
    """``name`` as Python finds it from ``obj``: class members (inherited too), then the module."""
    scope: griffe.Object | None = obj
    while scope is not None and not scope.is_module:
        members = scope.all_members if scope.is_class else scope.members
        if name in members:
            return members[name].path
        scope = scope.parent
    module = obj.module
    if name in module.members:
        return module.members[name].path
    return module.imports.get(name)


def resolve(library: Library, obj: griffe.Object, target: str) -> tuple[str, bool]:
    """``target`` seen from ``obj``: (its home in the reference, True) or (plain text, False)."""
    if target.startswith("."):
        path: str | None = relative(obj, target)
    else:
        first, _, rest = target.partition(".")
        found = first if first == PACKAGE else in_scope(obj, first)
        path = f"{found}.{rest}" if found is not None and rest else found
    if path is None:
        # Not in scope: a name the library exports once, or else a built-in or another
        # package's (code); anything else is left for the build to judge.
        named = library.named(target)
        if named is not None:
            return named, True
        first = target.partition(".")[0]
        return target, not (hasattr(builtins, first) or importlib.util.find_spec(first))
    if path != PACKAGE and not path.startswith(f"{PACKAGE}."):
        return target, False
    home = library.home(path)
    return (home, True) if home is not None else (target, False)


def markdown(library: Library, obj: griffe.Object, text: str) -> str:
    """``text``, a docstring of ``obj``, with its roles and literal-block markers as Markdown."""

    def link(role: re.Match[str]) -> str:
        text = role["text"]
        titled = TITLED.fullmatch(text)
        if titled:
            title, target = titled["title"], titled["target"]
        elif text.startswith("~"):
            target = text[1:]
            title = target.rpartition(".")[2]
        else:
            target = title = text
        home, linked = resolve(library, obj, target)
        return f"[`{title}`][{home}]" if linked else f"`{title}`"

    def raised(line: str, indent: str) -> str:
        entry = ENTRY.fullmatch(line)
        if entry is None or entry["indent"] != indent:
            return line  # a continuation line
        name = entry["name"]
        if in_scope(obj, name.partition(".")[0]) is None:
            name = library.named(name) or name
        return f"{indent}{name}{entry['rest']}"

    def raises(section: re.Match[str]) -> str:
        body = section["body"]
        indent = body[: len(body) - len(body.lstrip(" \t"))]
        lines = [raised(line, indent) for line in body.split("\n")]
        return section[0].replace(body, "\n".join(lines))

    text = ROLE.sub(link, text)
    text = RAISES.sub(raises, text)
    text = LITERAL_ALONE.sub("", text)
    return LITERAL_INTRO.sub(r"\1:", text)


def objects(obj: griffe.Object) -> list[griffe.Object]:
    """``obj`` and every object defined under it (aliases are documented where they point)."""
    found = [obj]
    for member in obj.members.values():
        if not isinstance(member, griffe.Alias):
            found.extend(objects(member))
    return found


class SphinxRoles(griffe.Extension):
    """Rewrites every docstring of the package once it is loaded."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: object) -> None:  # noqa: ARG002 (Griffe's hook signature)
        """Rewrite the docstrings in place."""
        if pkg.path != PACKAGE:
            return
        library = Library(pkg)
        for obj in objects(pkg):
            if obj.docstring is not None:
                obj.docstring.value = markdown(library, obj, obj.docstring.value)
            if isinstance(obj, griffe.Attribute) and ATTRS_FIELD.match(str(obj.value or "")):
                obj.value = None
