#!/usr/bin/env bash
# Vendor the browser-side JavaScript the static book needs, so that it renders
# with no network access (no CDN for MathJax, require.js or the ipywidgets
# embed manager).
#
# For maintainers: run once after changing a version below, then commit the
# result under _static_vendor/. The script is idempotent: it rebuilds the
# vendored folders from scratch each time and needs only `npm` (registry access).
#
#   scripts/vendor_assets.sh
set -euo pipefail

MATHJAX_VERSION="3.2.2"
HTML_MANAGER_VERSION="1.0.6"
REQUIREJS_VERSION="2.3.7"

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENDOR="$REPO_ROOT/_static_vendor"

command -v npm >/dev/null || { echo "error: npm is required" >&2; exit 1; }

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# fetch SPEC DIR: `npm pack` SPEC into the temp dir and unpack it into DIR.
fetch() {
  local spec="$1" dest="$2" tgz
  tgz="$(cd "$TMP" && npm pack --silent "$spec" 2>/dev/null | tail -n 1)"
  [[ -f "$TMP/$tgz" ]] || { echo "error: npm pack $spec failed" >&2; exit 1; }
  mkdir -p "$dest"
  tar -xzf "$TMP/$tgz" -C "$dest" --strip-components=1
}

echo "Fetching mathjax@$MATHJAX_VERSION, @jupyter-widgets/html-manager@$HTML_MANAGER_VERSION, requirejs@$REQUIREJS_VERSION ..."
fetch "mathjax@$MATHJAX_VERSION" "$TMP/mathjax"
fetch "@jupyter-widgets/html-manager@$HTML_MANAGER_VERSION" "$TMP/html-manager"
fetch "requirejs@$REQUIREJS_VERSION" "$TMP/requirejs"

# --- MathJax -----------------------------------------------------------------
# tex-chtml.js locates its fonts and TeX extensions relative to its own URL, so
# keep the es5/ layout: mathjax/tex-chtml.js, mathjax/output/chtml/fonts/woff-v2/,
# mathjax/input/tex/extensions/.
MJ_SRC="$TMP/mathjax/es5"
MJ="$VENDOR/mathjax"
rm -rf "$MJ"
mkdir -p "$MJ/output/chtml/fonts" "$MJ/input/tex"
cp "$MJ_SRC/tex-chtml.js" "$MJ/"
cp -R "$MJ_SRC/output/chtml/fonts/woff-v2" "$MJ/output/chtml/fonts/"
cp -R "$MJ_SRC/input/tex/extensions" "$MJ/input/tex/"
cp "$TMP/mathjax/LICENSE" "$MJ/LICENSE"

# --- ipywidgets: embed manager + require.js ----------------------------------
W="$VENDOR/ipywidgets"
rm -rf "$W"
mkdir -p "$W"
cp "$TMP/html-manager/dist/embed-amd.js" "$W/"
cp "$TMP/html-manager/LICENSE" "$W/LICENSE.html-manager"
cp "$TMP/html-manager/dist/embed.js.LICENSE.txt" "$W/THIRD-PARTY-LICENSES.html-manager.txt"
# Font Awesome 5 webfonts (used by widget icons: Button(icon=...), Play, Valid,
# FileUpload, ...). embed-amd.js references them by hashed name relative to its
# own URL; only the woff2 files are needed by current browsers.
cp "$TMP/html-manager/dist/"*.woff2 "$W/"
cp "$TMP/requirejs/require.js" "$W/"
# requirejs ships no LICENSE file; its licence (MIT) is stated in the header
# of require.js and in package.json. Record it next to the file.
{
  echo "RequireJS $REQUIREJS_VERSION (npm package requirejs@$REQUIREJS_VERSION)"
  echo "License: $(node -p "require('$TMP/requirejs/package.json').license" 2>/dev/null || echo MIT)"
  echo "https://github.com/requirejs/requirejs/blob/master/LICENSE"
  echo
  echo "Header of require.js:"
  sed -n '1,/\*\//p' "$TMP/requirejs/require.js"
  echo
  cat <<'EOF'
MIT License

Copyright jQuery Foundation and other contributors, https://jquery.org/

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in
all copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN
THE SOFTWARE.
EOF
} > "$W/LICENSE.requirejs"

# --- README ------------------------------------------------------------------
cat > "$VENDOR/README.md" <<EOF
# Vendored browser assets

Third-party JavaScript (and fonts) that the static book loads from its own
\`_static/\` folder instead of a CDN, so that every page renders offline.
This folder is listed in \`html_static_path\`; Sphinx copies it to \`_static/\`.

**Do not edit by hand.** Regenerate with \`scripts/vendor_assets.sh\` (needs
\`npm\` and access to the npm registry); change the pinned versions at the top of
that script.

| Path | What | Source (npm) | Licence |
|------|------|--------------|---------|
| \`mathjax/tex-chtml.js\` | MathJax TeX-input / CommonHTML-output component (\`mathjax_path: mathjax/tex-chtml.js\`) | \`mathjax@$MATHJAX_VERSION\` (\`es5/tex-chtml.js\`) | Apache-2.0, \`mathjax/LICENSE\` |
| \`mathjax/output/chtml/fonts/woff-v2/\` | MathJax TeX fonts; found relative to \`tex-chtml.js\` | \`mathjax@$MATHJAX_VERSION\` (\`es5/output/chtml/fonts/woff-v2/\`) | Apache-2.0 (fonts: see \`mathjax/LICENSE\`) |
| \`mathjax/input/tex/extensions/\` | TeX extensions MathJax loads on first use (e.g. \`\\boldsymbol\`) | \`mathjax@$MATHJAX_VERSION\` (\`es5/input/tex/extensions/\`) | Apache-2.0, \`mathjax/LICENSE\` |
| \`mathjax/LICENSE\` | MathJax licence | \`mathjax@$MATHJAX_VERSION\` | |
| \`ipywidgets/embed-amd.js\` | ipywidgets HTML embed manager: renders the widget state myst-nb embeds in the pages | \`@jupyter-widgets/html-manager@$HTML_MANAGER_VERSION\` (\`dist/embed-amd.js\`) | BSD-3-Clause, \`ipywidgets/LICENSE.html-manager\`; bundled third-party notices in \`ipywidgets/THIRD-PARTY-LICENSES.html-manager.txt\` |
| \`ipywidgets/*.woff2\` | Font Awesome Free 5.15.4 webfonts for widget icons; \`embed-amd.js\` loads them relative to itself | \`@jupyter-widgets/html-manager@$HTML_MANAGER_VERSION\` (\`dist/*.woff2\`) | SIL OFL 1.1 (Font Awesome Free) |
| \`ipywidgets/require.js\` | AMD loader that \`embed-amd.js\` needs | \`requirejs@$REQUIREJS_VERSION\` (\`require.js\`) | MIT, \`ipywidgets/LICENSE.requirejs\` (the package ships no licence file; text taken from the header and the upstream MIT licence) |

Pages load \`ipywidgets/require.js\` and \`ipywidgets/embed-amd.js\` through
\`nb_ipywidgets_js\` in \`_config.yml\`. The files are not under \`_static/\`
because Jupyter Book injects every \`*.js\` found there into every page.

Widgets from modules other than \`@jupyter-widgets/base\`, \`/controls\` and
\`/output\` (third-party widget libraries) are still fetched by \`embed-amd.js\`
from \`https://cdn.jsdelivr.net/npm/\` and will not render offline.
EOF

echo "Vendored into $VENDOR: $(find "$VENDOR" -type f | wc -l | tr -d ' ') files, $(du -sh "$VENDOR" | cut -f1)"
