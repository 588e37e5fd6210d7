# Sourced by scripts/*: a project virtual environment and the system programs the tests need.
# Works on a fresh machine with only Python 3.11+ (with venv and pip) on it.

PYTHON=${PYTHON:-python3}

# ensure_venv [dev]: .venv with the project installed (editable), plus the dev tools when
# asked; reinstalls only when pyproject.toml changed since the last install.
ensure_venv() {
    local mode=${1:-run}
    local stamp=".venv/.installed-$mode"
    local want
    want=$(sha256sum pyproject.toml | cut -d' ' -f1)
    if [ ! -x .venv/bin/python ]; then
        "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
            echo "order-lifecycle needs Python 3.11 or newer; $PYTHON is $("$PYTHON" --version)" >&2
            return 1
        }
        echo "Creating a virtual environment in .venv ($("$PYTHON" --version))..." >&2
        "$PYTHON" -m venv .venv
    fi
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        # pip 25.1 is the first to install [dependency-groups] (--group).
        echo "Installing pip 25.1 or newer into .venv..." >&2
        .venv/bin/python -m pip install --quiet --upgrade "pip>=25.1"
        if [ "$mode" = dev ]; then
            echo "Installing order-lifecycle (editable) and its dev tools into .venv:" \
                "ruff, mypy, pytest, hypothesis, psycopg, Django, Starlette, MkDocs..." >&2
            .venv/bin/python -m pip install --quiet --editable . --group dev
        else
            echo "Installing order-lifecycle (editable) into .venv..." >&2
            .venv/bin/python -m pip install --quiet --editable .
        fi
        echo "Installed; the next run reuses .venv until pyproject.toml changes." >&2
        echo "$want" >"$stamp"
    fi
}

# apt_install PACKAGE...: install Debian packages, as root or through passwordless sudo.
# The package lists are updated once per run, before the first install.
APT_UPDATED=${APT_UPDATED:-}
apt_install() {
    local sudo=""
    if [ "$(id -u)" != 0 ]; then
        if sudo -n true 2>/dev/null; then sudo="sudo -n"; else return 1; fi
    fi
    command -v apt-get >/dev/null || return 1
    if [ -z "$APT_UPDATED" ]; then
        $sudo apt-get update -qq >/dev/null || return 1
        APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

# ensure_graphviz: Graphviz's `dot` draws the SVG diagrams.
ensure_graphviz() {
    command -v dot >/dev/null && return 0
    echo "Installing Graphviz (for the SVG diagrams)..." >&2
    apt_install graphviz || echo "Graphviz's dot is missing and could not be installed: SVG tests will skip." >&2
}

# have_initdb: PostgreSQL's initdb on PATH, from pg_config, or in Debian's versioned folder.
have_initdb() {
    command -v initdb >/dev/null && return 0
    command -v pg_config >/dev/null && [ -x "$(pg_config --bindir 2>/dev/null)/initdb" ] && return 0
    compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
}

# ensure_postgresql: the store tests start a throwaway PostgreSQL cluster, which needs the
# server's programs (initdb, pg_ctl); Debian's postgresql package has them.
ensure_postgresql() {
    have_initdb && return 0
    echo "Installing PostgreSQL (for the store tests' throwaway cluster)..." >&2
    apt_install postgresql || echo "PostgreSQL is missing and could not be installed: its tests will skip (and fail under CI)." >&2
}
