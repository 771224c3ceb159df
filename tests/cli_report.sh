#!/bin/sh
# Issue #25 item 6: an HTML report. explain -O DIR --html writes
# DIR/index.html; dmbp report DIR puts the image sets of DIR's
# subdirectories side by side (one column per method) with eval's tables
# and curves. The page must stand alone: every <img> a data: URI that
# decodes (PNG by PIL, SVG as XML), the tables well-formed. Checked in
# headless Chromium when it is installed, else with Python's html.parser.
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/cli_common.sh"

RESNET="$MODELS/fmnist_resnet.onnx"
R="$TMP/rep"
mkdir "$R"
ls "$MODELS/samples/"*.png | head -3 >"$TMP/list"

expect_exit 0 "explain -O --html" -- "$DMBP" explain "$RESNET" --images "$TMP/list" \
    -m gxi -O "$R/gxi" --html --quiet
[ -s "$R/gxi/index.html" ] || fail "explain --html: no $R/gxi/index.html"
expect_exit 0 "explain -O, dmbp" -- "$DMBP" explain "$RESNET" --images "$TMP/list" \
    -m dmbp --iters 2 -O "$R/dmbp" --quiet
expect_exit 0 "eval -O" -- "$DMBP" eval "$RESNET" --images "$TMP/list" \
    --methods gxi,saliency --randomization-images 0 -O "$R/eval" --quiet
expect_exit 0 "report DIR" -- "$DMBP" report "$R"
grep -q "index.html: 6 pictures" "$TMP/err" || fail "report DIR: $(cat "$TMP/err")"

# check_page FILE IMAGES TABLES: IMAGES <img> (PNG and SVG) that decode, at
# least TABLES tables, every row of a table as wide as its first.
check_page() {
    if command -v chromium >/dev/null 2>&1; then
        # A copy of the page with a script that, once everything loaded,
        # marks the body with whether every image decoded and whether at
        # least TABLES tables were laid out (rows, a height on the page).
        sed 's|</body>|<script>onload = function () { var ok = document.images.length == '"$2"'; for (var i = 0; i < document.images.length; i++) ok = ok \&\& document.images[i].complete \&\& document.images[i].naturalWidth > 0; var t = document.getElementsByTagName("table"), laid = 0; for (var i = 0; i < t.length; i++) if (t[i].rows.length > 0 \&\& t[i].offsetHeight > 0) laid++; document.body.setAttribute("data-check", !ok ? "broken" : laid < '"$3"' ? "tables" : "decoded"); };</script></body>|' \
            "$1" >"$1.check.html"
        chromium --headless --disable-gpu --no-sandbox --virtual-time-budget=10000 \
            --dump-dom "file://$1.check.html" >"$TMP/dom" 2>/dev/null ||
            fail "chromium could not load $1"
        grep -q 'data-check="decoded"' "$TMP/dom" ||
            fail "$1: chromium: not every image decoded, or fewer than $3 tables laid out: $(grep -o 'data-check="[a-z]*"' "$TMP/dom")"
        rm -f "$1.check.html"
    fi
    /usr/bin/python3 - "$1" "$2" "$3" <<'EOF' || fail "$1: $(cat "$TMP/pyerr")"
import base64, html.parser, io, sys, xml.etree.ElementTree as ET
path, want_imgs, want_tables = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
try:
    from PIL import Image
except ImportError:
    Image = None

class Page(html.parser.HTMLParser):
    VOID = {"meta", "img", "br", "hr", "link", "input"}
    def __init__(self):
        super().__init__()
        self.stack, self.imgs, self.tables, self.rows = [], [], [], None
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.imgs.append(a.get("src", ""))
        if tag in ("link", "script") and (a.get("src") or a.get("href")):
            raise SystemExit("loads %s" % (a.get("src") or a.get("href")))
        if tag == "table":
            self.tables.append([])
        if tag == "tr":
            self.tables[-1].append(0)
        if tag in ("td", "th"):
            self.tables[-1][-1] += 1
        if tag not in self.VOID:
            self.stack.append(tag)
    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            raise SystemExit("</%s> closes <%s>" % (tag, self.stack[-1] if self.stack else ""))
        self.stack.pop()

p = Page()
p.feed(open(path, encoding="utf-8").read())
p.close()
if p.stack:
    raise SystemExit("unclosed: %s" % p.stack)
if len(p.imgs) != want_imgs:
    raise SystemExit("%d images, want %d" % (len(p.imgs), want_imgs))
for src in p.imgs:
    head, _, data = src.partition(",")
    if not head.startswith("data:") or not head.endswith(";base64"):
        raise SystemExit("not embedded: %s" % src[:60])
    raw = base64.b64decode(data, validate=True)
    if head == "data:image/png;base64":
        if Image:
            im = Image.open(io.BytesIO(raw))
            im.load()
            if im.size[0] < 1 or im.size[1] < 1:
                raise SystemExit("empty picture")
        elif not raw.startswith(b"\x89PNG\r\n\x1a\n"):
            raise SystemExit("not a PNG")
    elif head == "data:image/svg+xml;base64":
        if not ET.fromstring(raw).tag.endswith("svg"):
            raise SystemExit("not an SVG")
    else:
        raise SystemExit("unexpected type %s" % head)
if len(p.tables) < want_tables:
    raise SystemExit("%d tables, want %d" % (len(p.tables), want_tables))
for t in p.tables:
    if not t or any(n != t[0] for n in t):
        raise SystemExit("ragged table: cells per row %s" % t)
EOF
}
if /usr/bin/python3 -c 'import html.parser' 2>/dev/null; then
    # 3 images x 2 methods, and eval's curves; the maps and eval's table.
    check_page "$R/index.html" 7 2 2>"$TMP/pyerr"
    check_page "$R/gxi/index.html" 3 1 2>"$TMP/pyerr"
else
    echo "cli_report.sh: no /usr/bin/python3: the page's structure not checked"
fi
grep -q "<th>dmbp</th><th>gxi</th>" "$R/index.html" || fail "report: not one column per method"
grep -q "Bag (8) logit [0-9.]* F [-0-9.e]*<" "$R/index.html" || fail "report: no class and F under gxi's bag"
grep -q "F+ [-0-9.e]* F- [-0-9.e]* Fn " "$R/index.html" || fail "report: no F+ F- Fn under DMBP's pictures"

# What is refused: the report needs a set, --html needs -O.
mkdir "$TMP/empty"
refused 3 "no image set" "report of an empty directory" -- "$DMBP" report "$TMP/empty"
[ ! -e "$TMP/empty/index.html" ] || fail "report of an empty directory wrote index.html"
refused 2 "which DIR?" "report without DIR" -- "$DMBP" report
refused 2 "--html needs -O" "--html without -O" -- "$DMBP" explain "$RESNET" \
    "$MODELS/samples/bag.png" -m gxi --html -o "$TMP/x"
finish
