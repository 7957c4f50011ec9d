#!/usr/bin/env bash
# Installs schemathesis (PyPI) once per version into a virtualenv outside the repository, like the
# control plane binaries and Keycloak: ~/.cache/breakglass-e2e/schemathesis-<version>/bin/st.
# Prints the path of `st`. Needs python3 (3.9+) with venv. A half-finished install (no stamp) is
# removed and redone.
set -euo pipefail
version="${SCHEMATHESIS_VERSION:-4.32.5}"
dir="${HOME}/.cache/breakglass-e2e/schemathesis-${version}"
if [[ ! -f "${dir}/.installed" ]]; then
  rm -rf "${dir}"
  mkdir -p "$(dirname "${dir}")"
  python3 -m venv "${dir}" >&2
  "${dir}/bin/pip" install --quiet --disable-pip-version-check "schemathesis==${version}" >&2
  touch "${dir}/.installed"
fi
echo "${dir}/bin/st"
