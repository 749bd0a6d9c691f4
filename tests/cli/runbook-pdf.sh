#!/bin/sh
# runbook-pdf.sh DROVER SRC: the printed runbook, as a person holding it
# would check it.
#
# - `runbook --format pdf` writes a PDF through headless Chromium;
# - its "Recovery order at a glance" names, for every section, the page the
#   section starts on, and that page holds the section's heading;
# - the text of a wrapped command copies back as the command: the
#   continuation marks in the margin are pictures, not text;
# - without Chromium it says how to get it, exits 1 and writes no file, both
#   when DROVER_CHROMIUM names nothing and when PATH holds no browser.
#
# Needs chromium and poppler-utils (pdftotext, pdfinfo); contrib/install-deps
# installs them. Missing, the test fails: it does not skip.
set -eu
drover=$1
src=$2
plan=$src/plans/westpole.cfg
fail() {
	echo "runbook-pdf: FAIL: $*" >&2
	exit 1
}
for t in pdftotext pdfinfo python3; do
	command -v "$t" >/dev/null 2>&1 ||
		fail "$t is not installed (contrib/install-deps installs poppler-utils)"
done
command -v chromium >/dev/null 2>&1 ||
	fail "chromium is not installed (contrib/install-deps installs it)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export TMPDIR="$tmp"

"$drover" runbook "$plan" --from milan,rome --to torino --format pdf \
	-o "$tmp/rb.pdf" 2>"$tmp/err" || fail "runbook --format pdf: $(cat "$tmp/err")"
pages=$(pdfinfo "$tmp/rb.pdf" | awk '/^Pages:/ { print $2 }')
[ "${pages:-0}" -ge 5 ] || fail "the PDF has ${pages:-no} pages"
pdftotext -layout "$tmp/rb.pdf" "$tmp/rb.txt"
pdftotext "$tmp/rb.pdf" "$tmp/flow.txt"

python3 - "$tmp/rb.txt" "$tmp/flow.txt" "$pages" <<'PY' || exit 1
import re, sys
layout, flow, npages = open(sys.argv[1]).read(), open(sys.argv[2]).read(), int(sys.argv[3])
pages = layout.split("\f")
def fail(msg):
    sys.exit("runbook-pdf: FAIL: " + msg)

# "Recovery order at a glance": section, service, ..., page, checklist.
glance = pages[0][pages[0].index("Recovery order at a glance"):]
rows = re.findall(r"^\s*(\d+\.\d+)\s+(\S+)\s.*?\s(\d+)\s+(?:\d+|—)\s*$",
                  glance, re.M)
if len(rows) < 6:
    fail("the glance table lists %d sections with pages: %r" % (len(rows), rows))
for sec, name, page in rows:
    p = int(page)
    if not 1 <= p <= npages:
        fail("%s %s: page %d of %d" % (sec, name, p, npages))
    if not re.search(r"^\s*%s %s(\s|$)" % (re.escape(sec), re.escape(name)),
                     pages[p - 1], re.M):
        fail("%s %s: the contents say page %d, whose text has no such heading"
             % (sec, name, p))

# A wrapped command copies back whole, without the marks.
if "\u21aa" in flow:
    fail("the continuation marks are in the PDF's text")
want = ("nft add table inet drover_fence && nft add chain inet drover_fence "
        "in '{ type filter hook input priority -100; policy drop; }'")
joined = re.sub(r"\s*\n\s*", " ", flow)
if want not in joined:
    i = joined.find("drover_fence")
    fail("the withdraw-routes command does not copy back: %r" % joined[i - 200:i + 200])
i = joined.find("ssh -i ")
if i < 0 or "-o UserKnownHostsFile=" not in joined[i:i + 300]:
    fail("no ssh line with -i and -o UserKnownHostsFile=")
print("runbook-pdf: %d pages, %d sections on the right pages, commands copy back"
      % (npages, len(rows)))
PY

# No browser: a clear message, exit 1, no file.
rc=0
DROVER_CHROMIUM=$tmp/no-such-browser "$drover" runbook "$plan" --from milan,rome \
	--to torino --format pdf -o "$tmp/none.pdf" 2>"$tmp/err" || rc=$?
[ "$rc" -eq 1 ] || fail "DROVER_CHROMIUM naming nothing: exit $rc, not 1"
grep -q "apt-get install chromium" "$tmp/err" ||
	fail "no word on how to get Chromium: $(cat "$tmp/err")"
[ ! -e "$tmp/none.pdf" ] || fail "a PDF was written without a browser"
rc=0
env -u DROVER_CHROMIUM PATH="$tmp/empty" "$drover" runbook "$plan" \
	--from milan,rome --to torino -o "$tmp/none.pdf" 2>"$tmp/err" || rc=$?
[ "$rc" -eq 1 ] || fail "no browser in PATH: exit $rc, not 1"
grep -q "none was found" "$tmp/err" || fail "no browser in PATH: $(cat "$tmp/err")"
[ ! -e "$tmp/none.pdf" ] || fail "a PDF was written without a browser in PATH"
echo "runbook-pdf: without Chromium: exit 1, the way to install it, no file"
