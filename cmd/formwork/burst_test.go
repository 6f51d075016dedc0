package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// TestLoginBurstMemory: 64 people signing in at once (a shift starting,
// the rate limits off as behind a proxy of many offices) keep serve within
// a pod's memory. Each password check holds 19 MiB while it runs; run all
// at once they took the process to 837 MB resident for 40 logins. Now at
// most one per processor runs, and every login still succeeds.
func TestLoginBurstMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("CLI test with a server process: skipped under -short")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc: the process's peak memory cannot be read here")
	}
	const password = "a long and fine password"
	data := seedData(t, password)
	addr := freeAddr(t)
	proc := startServe(t, data, addr, append(cleanEnv(), "FORMWORK_RATE_IP=0", "FORMWORK_RATE_USER=0", "FORMWORK_RATE_LOGIN=0"))
	base := "http://" + addr
	const logins = 64
	start := time.Now()
	atOnce(t, logins, http.StatusOK, func() (*http.Response, error) {
		body := fmt.Sprintf(`{"email":"admin@example.com","password":%q}`, password)
		return http.Post(base+"/api/v1/auth/login", "application/json", strings.NewReader(body))
	})
	peak := peakKiB(t, proc)
	// the server's own ~100 MB, and a little over two checks' memory per
	// processor it may run them on (live, and garbage not yet collected)
	limit := 150<<10 + runtime.NumCPU()*45<<10
	t.Logf("%d logins at once in %v: peak resident %d MiB (limit %d MiB, %d processors)", logins, time.Since(start).Round(time.Millisecond), peak>>10, limit>>10, runtime.NumCPU())
	if peak == 0 || peak > limit {
		t.Errorf("peak resident memory %d KiB, want at most %d KiB", peak, limit)
	}
}

// TestImportBurstMemory: four of the largest spreadsheets an import takes
// (50,000 rows of 20 columns), uploaded at once, are read one at a time:
// each holds about 120 MB while it is read, and four at once took serve to
// 559 MB resident. Every upload is still answered.
func TestImportBurstMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("CLI test with a server process and large files: skipped under -short")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc: the process's peak memory cannot be read here")
	}
	const password = "a long and fine password"
	data := seedData(t, password, []string{"app", "import", "--template", "crm"})
	addr := freeAddr(t)
	proc := startServe(t, data, addr, append(cleanEnv(), "FORMWORK_RATE_IP=0", "FORMWORK_RATE_USER=0", "FORMWORK_RATE_LOGIN=0"))
	base := "http://" + addr
	resp, err := http.Post(base+"/api/v1/auth/login", "application/json",
		strings.NewReader(fmt.Sprintf(`{"email":"admin@example.com","password":%q}`, password)))
	if err != nil {
		t.Fatal(err)
	}
	var login struct{ Token string }
	err = json.NewDecoder(resp.Body).Decode(&login)
	resp.Body.Close()
	if err != nil || login.Token == "" {
		t.Fatalf("login: %v", err)
	}
	file := bigSheet(t, 50000, 20)
	before := peakKiB(t, proc)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "customers.xlsx")
	fw.Write(file)
	mw.WriteField("dry_run", "true")
	mw.Close()
	const uploads = 4
	start := time.Now()
	// the sheet's headers match no field of the form: each upload is read
	// whole and then refused for its mapping (422)
	atOnce(t, uploads, http.StatusUnprocessableEntity, func() (*http.Response, error) {
		req, _ := http.NewRequest("POST", base+"/api/v1/apps/crm/forms/customer/imports", bytes.NewReader(body.Bytes()))
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Authorization", "Bearer "+login.Token)
		return http.DefaultClient.Do(req)
	})
	peak := peakKiB(t, proc)
	t.Logf("%d uploads of %d KiB at once in %v: peak resident %d MiB (%d before)", uploads, len(file)>>10, time.Since(start).Round(time.Millisecond), peak>>10, before>>10)
	if limit := before + 200<<10; peak > limit {
		t.Errorf("peak resident %d MiB, want at most %d MiB: the uploads were read at once", peak>>10, limit>>10)
	}
}

// atOnce sends n requests at once and wants each answered with status.
func atOnce(t *testing.T, n, status int, send func() (*http.Response, error)) {
	t.Helper()
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := send()
			if err != nil {
				t.Errorf("request %d: %v", i, err)
				return
			}
			resp.Body.Close()
			codes[i] = resp.StatusCode
		}()
	}
	wg.Wait()
	for i, c := range codes {
		if c != status {
			t.Errorf("request %d: %d, want %d", i, c, status)
		}
	}
}

// bigSheet is an .xlsx of rows rows of cols columns of short Chinese text.
func bigSheet(t *testing.T, rows, cols int) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		t.Fatal(err)
	}
	row := make([]any, cols)
	for c := range cols {
		row[c] = fmt.Sprintf("列%d", c)
	}
	if err := sw.SetRow("A1", row); err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		for c := range cols {
			row[c] = fmt.Sprintf("客户数据%05d-%d", i, c)
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := sw.SetRow(cell, row); err != nil {
			t.Fatal(err)
		}
	}
	if err := sw.Flush(); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// peakKiB is the server process's peak resident memory so far (VmHWM).
func peakKiB(t *testing.T, p *serveProc) int {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}
