package server

import (
	"bytes"
	"compress/zlib"
	"context"
	"io"
	"maps"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// TestBrowserPrint opens a record in Chromium as staff, clicks Print,
// finds the watermark of staff and the time over the page and the phone
// masked, checks that the print media keep the watermark and drop the
// toolbar, and prints the page to PDF: an A4 document holding the
// watermark's text. Screenshots at 1280 and 390 px, in Chinese.
func TestBrowserPrint(t *testing.T) {
	ctx, console := chrome(t, chromeOpts{Timeout: 3 * time.Minute})
	h, r := printFixture(t)
	srv := httptest.NewServer(h.e)
	defer srv.Close()
	shots := t.TempDir()
	recordURL := srv.URL + "/apps/shop/forms/customer/records/" + r.ID

	step(t, ctx, "login and open the record", loginAt(recordURL, "staff", `.record-actions a[data-action="print"]`)...)
	step(t, ctx, "print", answered(chromedp.Click(chromedp.CSS(`.record-actions a[data-action="print"]`))), chromedp.WaitVisible(chromedp.CSS("#print-mark")))
	if path := run(t, ctx, "path", chromedp.Evaluate[string]("location.pathname")); path != "/apps/shop/forms/customer/records/"+r.ID+"/print" {
		t.Fatalf("the Print link led to %s", path)
	}
	mark := run(t, ctx, "watermark", chromedp.Text(chromedp.CSS("#print-mark")))
	if !regexp.MustCompile(`^staff · staff@example\.com · \d{4}-\d\d-\d\d \d\d:\d\d UTC$`).MatchString(mark) {
		t.Errorf("watermark %q: want the viewer and the time", mark)
	}
	// the watermark lies over the whole page: tiles at its corners and centre
	covered := run(t, ctx, "watermark coverage", chromedp.Evaluate[[]bool](`(() => {
		const tiles = Array.from(document.querySelectorAll('.wm-tiles span')).map(s => s.getBoundingClientRect());
		const w = innerWidth, h = innerHeight;
		return [[.15, .15], [.85, .15], [.5, .5], [.15, .85], [.85, .85]].map(([x, y]) =>
			tiles.some(b => Math.abs((b.left + b.right) / 2 - x * w) < w * .35 && Math.abs((b.top + b.bottom) / 2 - y * h) < h * .2));
	})()`))
	for i, ok := range covered {
		if !ok {
			t.Errorf("no watermark near point %d of the screen: %v", i, covered)
		}
	}
	if st := run(t, ctx, "watermark style", chromedp.Evaluate[string](`getComputedStyle(document.querySelector('.wm')).position + ' ' + getComputedStyle(document.querySelector('.wm-tiles span')).visibility`)); st != "fixed visible" {
		t.Errorf("the watermark layer is %q, want fixed and visible", st)
	}
	if phone := run(t, ctx, "phone", chromedp.Text(chromedp.CSS(`[data-field="phone"] dd`))); phone != "139****5678" {
		t.Errorf("the phone reads %q, want it masked", phone)
	}
	text := run(t, ctx, "page text", chromedp.Text(chromedp.CSS("body")))
	for _, no := range []string{"13912345678", "折扣", "discount", "in_review"} {
		if strings.Contains(text, no) {
			t.Errorf("the print page shows %q", no)
		}
	}
	for _, want := range []string{"陈美玲", "基本信息", "联系人", "陈先生", "审批记录", "同意八五折", "打印人"} {
		if !strings.Contains(text, want) {
			t.Errorf("the print page lacks %q", want)
		}
	}
	shootBoth(t, ctx, shots, "print")

	// on paper: the toolbar goes, the watermark stays
	must(t, "print media", chromedp.Do(ctx, func(ctx2 context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx2, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"})
		return chromedp.Void{}, err
	}))
	if st := run(t, ctx, "print styles", chromedp.Evaluate[string](`getComputedStyle(document.querySelector('.toolbar')).display + ' ' + getComputedStyle(document.querySelector('.wm')).display`)); st != "none block" {
		t.Errorf("in print media toolbar and watermark are %q, want none and block", st)
	}
	shoot(t, ctx, shots, "print-paper", 794) // an A4 sheet's width at 96 dpi
	printPDF := func(what string) ([]byte, []string) {
		t.Helper()
		pdf := run(t, ctx, what, chromedp.PrintToPDF(chromedp.PDFPaper(chromedp.PaperA4), func(p *page.PrintToPDFParams) { b := true; p.PreferCSSPageSize = &b }))
		if !bytes.HasPrefix(pdf, []byte("%PDF-")) || len(pdf) < 2000 {
			t.Fatalf("%s: the PDF is %d bytes: %q", what, len(pdf), pdf[:min(len(pdf), 16)])
		}
		boxes := regexp.MustCompile(`/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]`).FindAllSubmatch(pdf, -1)
		if len(boxes) == 0 {
			t.Fatalf("%s: the PDF has no page", what)
		}
		for _, b := range boxes {
			w, _ := strconv.ParseFloat(string(b[1]), 64)
			hgt, _ := strconv.ParseFloat(string(b[2]), 64)
			if w < 593 || w > 598 || hgt < 840 || hgt > 845 { // A4 is 595 × 842 points
				t.Errorf("%s: a PDF page is %.1f × %.1f points, want A4", what, w, hgt)
			}
		}
		// the watermark is printed, as text, with backgrounds off: on every page
		text := strings.NewReplacer("\ufb00", "ff", "\ufb01", "fi", "\ufb02", "fl").Replace(pdfText(t, pdf))
		pages := strings.Split(strings.TrimSuffix(text, "\f"), "\f")
		for i, pg := range pages {
			if n := strings.Count(pg, mark); n < 5 {
				t.Errorf("%s: PDF page %d holds the watermark %d times, want it across the page: %q", what, i+1, n, pg)
			}
		}
		t.Logf("%s: %d bytes, %d A4 page(s), the watermark %d times", what, len(pdf), len(pages), strings.Count(text, mark))
		return pdf, pages
	}
	pdf, pages := printPDF("print to PDF")
	if dir := os.Getenv("FORMWORK_ARTIFACTS"); dir != "" {
		must(t, "save PDF", os.WriteFile(filepath.Join(dir, "print.pdf"), pdf, 0o644))
	}
	all := strings.Join(pages, "")
	if !strings.Contains(all, "139****5678") || strings.Contains(all, "13912345678") || strings.Contains(all, "打印本页") {
		t.Errorf("the PDF's text: want the phone masked and no toolbar: %q", all)
	}
	// a record three sheets long has the watermark on each
	must(t, "lengthen the record", chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`(() => {
		const d = document.createElement('div'); d.style.height = '2400px';
		document.querySelector('.sheet-foot').before(d);
	})()`)))
	if _, pages = printPDF("print a long record"); len(pages) < 3 {
		t.Errorf("the long record printed on %d pages, want 3 or more", len(pages))
	}
	checkConsole(t, console())
}

// pdfText is the text a PDF from Chromium shows, in the order it is
// drawn: each font's codes mapped through its ToUnicode table. It reads
// only what Chromium writes (plain objects, Flate streams, one-byte or
// two-byte codes in Tj and TJ), enough for a test to find a line of text.
func pdfText(tb testing.TB, pdf []byte) string {
	tb.Helper()
	objs := map[string][]byte{}
	for _, m := range regexp.MustCompile(`(?s)(?:^|\n)(\d+) 0 obj\s(.*?)endobj`).FindAllSubmatch(pdf, -1) {
		objs[string(m[1])] = m[2]
	}
	stream := func(obj []byte) []byte {
		i := bytes.Index(obj, []byte("stream"))
		j := bytes.LastIndex(obj, []byte("endstream"))
		if i < 0 || j < i {
			return nil
		}
		body := bytes.TrimLeft(obj[i+len("stream"):j], "\r\n")
		zr, err := zlib.NewReader(bytes.NewReader(body))
		if err != nil {
			return body
		}
		out, _ := io.ReadAll(zr)
		return out
	}
	charRE := regexp.MustCompile(`<([0-9A-Fa-f]+)>[ \t]*<([0-9A-Fa-f]+)>`)
	rangeRE := regexp.MustCompile(`<([0-9A-Fa-f]+)>[ \t]*<([0-9A-Fa-f]+)>[ \t]*<([0-9A-Fa-f]+)>`)
	cmapOf := func(fontObj string) (map[string]string, int) {
		m := regexp.MustCompile(`/ToUnicode (\d+) 0 R`).FindSubmatch(objs[fontObj])
		if m == nil {
			return nil, 1
		}
		cm := stream(objs[string(m[1])])
		out, width := map[string]string{}, 1
		if cs := regexp.MustCompile(`begincodespacerange\s*<([0-9A-Fa-f]+)>`).FindSubmatch(cm); cs != nil {
			width = len(cs[1]) / 2
		}
		utf := func(h string) string {
			var rs []rune
			for i := 0; i+4 <= len(h); i += 4 {
				n, _ := strconv.ParseUint(h[i:i+4], 16, 32)
				rs = append(rs, rune(n))
			}
			return string(rs)
		}
		for _, sec := range regexp.MustCompile(`(?s)beginbf(char|range)(.*?)endbf`).FindAllSubmatch(cm, -1) {
			if string(sec[1]) == "char" {
				for _, e := range charRE.FindAllSubmatch(sec[2], -1) {
					out[strings.ToUpper(string(e[1]))] = utf(string(e[2]))
				}
				continue
			}
			for _, e := range rangeRE.FindAllSubmatch(sec[2], -1) {
				lo, _ := strconv.ParseUint(string(e[1]), 16, 32)
				hi, _ := strconv.ParseUint(string(e[2]), 16, 32)
				first, _ := strconv.ParseUint(string(e[3]), 16, 32)
				for c := lo; c <= hi; c++ {
					out[strings.ToUpper(strconv.FormatUint(c, 16))] = string(rune(first + c - lo))
				}
			}
		}
		// keys as written: two hex digits per byte
		fixed := map[string]string{}
		for k, v := range out {
			for len(k) < 2*width {
				k = "0" + k
			}
			fixed[k] = v
		}
		return fixed, width
	}
	type font struct {
		cmap  map[string]string
		width int
	}
	var text strings.Builder
	opRE := regexp.MustCompile(`/(F\d+) [\d.]+ Tf|\[((?:[^\]])*)\]\s*TJ|<([0-9A-Fa-f]*)>\s*Tj`)
	pageRE := regexp.MustCompile(`/Type /Page[^s]`)
	for _, num := range slices.SortedFunc(maps.Keys(objs), func(a, b string) int { x, _ := strconv.Atoi(a); y, _ := strconv.Atoi(b); return x - y }) {
		obj := objs[num]
		if !pageRE.Match(obj) {
			continue
		}
		fonts := map[string]font{}
		for _, m := range regexp.MustCompile(`/(F\d+) (\d+) 0 R`).FindAllSubmatch(obj, -1) {
			cm, w := cmapOf(string(m[2]))
			fonts[string(m[1])] = font{cm, w}
		}
		cm := regexp.MustCompile(`/Contents (\d+) 0 R`).FindSubmatch(obj)
		if cm == nil {
			continue
		}
		var cur font
		for _, op := range opRE.FindAllSubmatch(stream(objs[string(cm[1])]), -1) {
			var hexes [][]byte
			switch {
			case op[1] != nil:
				cur = fonts[string(op[1])]
				continue
			case op[2] != nil:
				for _, h := range regexp.MustCompile(`<([0-9A-Fa-f]*)>`).FindAllSubmatch(op[2], -1) {
					hexes = append(hexes, h[1])
				}
			default:
				hexes = [][]byte{op[3]}
			}
			w := max(cur.width, 1) * 2
			for _, h := range hexes {
				hs := strings.ToUpper(string(h))
				for i := 0; i+w <= len(hs); i += w {
					text.WriteString(cur.cmap[hs[i:i+w]])
				}
			}
		}
		text.WriteString("\f")
	}
	return text.String()
}
