# Sourced by the other scripts: makes .venv (Python 3.11+) and installs the project into it
# whenever pyproject.toml changed since the last install, so a fresh clone needs no manual steps.
set -euo pipefail
# CDPATH unset: with it, `cd` prints the folder, which would end up in $root.
root="$(CDPATH= cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
extras="${NILAI_EXTRAS:-}"

pick_python() {
    for candidate in python3.11 python3.12 python3.13 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(not (3, 11) <= sys.version_info < (3, 14))' 2>/dev/null; then
            echo "$candidate"
            return
        fi
    done
    echo "Nilai needs Python 3.11 or newer (python3.11 not found)." >&2
    exit 1
}

if [ ! -x "$venv/bin/python" ]; then
    "$(pick_python)" -m venv "$venv"
fi
stamp="$venv/.installed-$(sha1sum "$root/pyproject.toml" | cut -c1-12)${extras:+-$extras}"
if [ ! -f "$stamp" ]; then
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet -e "$root${extras:+[$extras]}"
    touch "$stamp"
fi
