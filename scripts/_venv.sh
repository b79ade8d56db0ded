# Sourced by the scripts: make sure .venv exists and holds what pyproject.toml asks for.
# Re-installs only when pyproject.toml changed since the last install.
KUAIBAN_PYTHON=${KUAIBAN_PYTHON:-python3}
extras=${1:-}
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$KUAIBAN_PYTHON" -m venv .venv
fi
stamp=".venv/.installed-$(sha1sum pyproject.toml | cut -c1-12)${extras:+-$extras}"
if [ ! -f "$stamp" ]; then
  echo "==> installing dependencies from pyproject.toml${extras:+ (with $extras)}"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".${extras:+[$extras]}"
  touch "$stamp"
fi
export PATH="$PWD/.venv/bin:$PATH"
