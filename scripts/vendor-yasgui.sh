#!/bin/sh
# Vendor YASGUI (npm package @zazuko/yasgui) into kg/web/static/yasgui/, so the query page
# works offline: no CDN, nothing fetched at run time. Run from anywhere; needs npm and the
# npm registry. The result is committed; rerun only to change the version.
#
#   scripts/vendor-yasgui.sh [VERSION]     (default: the version below)
#
# Copies the built bundle (yasgui.min.js, yasgui.min.css) without its sourceMappingURL
# comment (the .map files are not shipped), writes LICENSE (YASGUI's MIT licence, from its
# package.json) and THIRD-PARTY-LICENSES (the licence files of every npm package the bundle
# was built from, as npm installs them).
set -eu

VERSION="${1:-4.6.2}"
HERE="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$HERE/kg/web/static/yasgui"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

cd "$WORK"
echo '{"private": true}' > package.json
npm install --ignore-scripts --no-audit --no-fund --silent "@zazuko/yasgui@$VERSION"
PKG="$WORK/node_modules/@zazuko/yasgui"
test -f "$PKG/build/yasgui.min.js" || { echo "vendor-yasgui: no build/yasgui.min.js in @zazuko/yasgui@$VERSION" >&2; exit 1; }

mkdir -p "$DEST"
grep -v '^//# sourceMappingURL=' "$PKG/build/yasgui.min.js" > "$DEST/yasgui.min.js"
grep -v '^/\*# sourceMappingURL=' "$PKG/build/yasgui.min.css" > "$DEST/yasgui.min.css"

LICENSE_ID="$(node -p "require('$PKG/package.json').license")"
AUTHOR="$(node -p "require('$PKG/package.json').author")"
test "$LICENSE_ID" = "MIT" || { echo "vendor-yasgui: licence is now $LICENSE_ID, not MIT: review it" >&2; exit 1; }
cat > "$DEST/LICENSE" <<LICENSE
@zazuko/yasgui $VERSION (https://github.com/zazuko/Yasgui, npm package @zazuko/yasgui)
License: MIT (as declared by its package.json; the npm package ships no licence file)
Copyright (c) $AUTHOR and Zazuko GmbH

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
LICENSE

{
  echo "Licences of the npm packages @zazuko/yasgui@$VERSION was built from (npm install, $(date -u +%Y-%m-%d))."
  echo "Packages without a licence file are listed with the licence their package.json declares."
  for dir in $(cd node_modules && ls -d */ @*/*/ 2>/dev/null | sed 's#/$##' | grep -v '^@[^/]*$' | sort); do
    meta="node_modules/$dir/package.json"
    [ -f "$meta" ] || continue
    id="$(node -p "const p=require('./$meta'); p.name + '@' + p.version + ' (' + (p.license || 'see file') + ')'")"
    echo
    echo "==================================================================== $id"
    file="$(ls "node_modules/$dir" | grep -i -m1 '^licen[cs]e\|^copying' || true)"
    if [ -n "$file" ]; then cat "node_modules/$dir/$file"; else echo "(no licence file in the package)"; fi
  done
} > "$DEST/THIRD-PARTY-LICENSES"

echo "$VERSION" > "$DEST/VERSION"
ls -l "$DEST"
