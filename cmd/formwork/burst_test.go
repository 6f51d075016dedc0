package main

import (
	"bytes"
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
	proc, admin := burstServer(t)
	const logins = 64
	start := time.Now()
	atOnce(t, logins, http.StatusOK, func() (int, error) {
		anon := &apiClient{base: admin.base, c: admin.c}
		return anon.call("POST", "/api/v1/auth/login", map[string]string{"email": "admin@example.com", "password": burstPassword}, nil)
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
	proc, admin := burstServer(t, []string{"app", "import", "--template", "crm"})
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
	atOnce(t, uploads, http.StatusUnprocessableEntity, func() (int, error) {
		req, err := http.NewRequest("POST", admin.base+"/api/v1/apps/crm/forms/customer/imports", bytes.NewReader(body.Bytes()))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Authorization", "Bearer "+admin.token)
		resp, err := admin.c.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	})
	peak := peakKiB(t, proc)
	t.Logf("%d uploads of %d KiB at once in %v: peak resident %d MiB (%d before)", uploads, len(file)>>10, time.Since(start).Round(time.Millisecond), peak>>10, before>>10)
	if limit := before + 200<<10; peak > limit {
		t.Errorf("peak resident %d MiB, want at most %d MiB: the uploads were read at once", peak>>10, limit>>10)
	}
}

// atOnce sends n requests at once (send returns the answer's status, and
// an error that says more) and wants each answered with status.
func atOnce(t *testing.T, n, status int, send func() (int, error)) {
	t.Helper()
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code, err := send(); code != status {
				t.Errorf("request %d: %d, want %d (%v)", i, code, status, err)
			}
		}()
	}
	wg.Wait()
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

// TestUploadBurstMemory: 32 staff uploading a 6 MB file each at once (the
// photos of a morning's contracts) keep serve within a pod's memory: the
// bodies wait in temporary files and a few uploads are stored at a time.
// All at once they took it to 985 MB resident. Every upload succeeds.
func TestUploadBurstMemory(t *testing.T) {
	proc, admin := burstServer(t, []string{"app", "import", "--template", "crm"})
	file := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("receipt scan 0123456789 "), 6<<20/24)...)
	before := peakKiB(t, proc)
	const uploads = 32
	start := time.Now()
	atOnce(t, uploads, http.StatusCreated, func() (int, error) {
		return postUpload(admin, "/api/v1/apps/crm/forms/payment/uploads", "receipt", "receipt.pdf", file)
	})
	peak := peakKiB(t, proc)
	// the uploads in the store's slots (a few times the file each, live and
	// not yet collected) and a MiB per body in flight
	limit := before + 100<<10 + max(2, runtime.NumCPU())*40<<10
	t.Logf("%d uploads of %d KiB at once in %v: peak resident %d MiB (%d before, limit %d)", uploads, len(file)>>10, time.Since(start).Round(time.Millisecond), peak>>10, before>>10, limit>>10)
	if peak > limit {
		t.Errorf("peak resident %d MiB, want at most %d MiB", peak>>10, limit>>10)
	}
}

// burstPassword is the administrator's password in burstServer.
const burstPassword = "a long and fine password"

// burstServer starts serve with its rate limits off (as behind a proxy of
// many offices) on a new data directory made by seed's commands, for a
// test of its peak memory; it returns the process and an administrator
// signed in through the API. Skipped under -short and without /proc.
func burstServer(t *testing.T, seed ...[]string) (*serveProc, *apiClient) {
	t.Helper()
	if testing.Short() {
		t.Skip("CLI test with a server process: skipped under -short")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc: the process's peak memory cannot be read here")
	}
	data := seedData(t, burstPassword, seed...)
	addr := freeAddr(t)
	proc := startServe(t, data, addr, append(cleanEnv(), "FORMWORK_RATE_IP=0", "FORMWORK_RATE_USER=0", "FORMWORK_RATE_LOGIN=0"))
	return proc, login(t, "http://"+addr, "admin@example.com", burstPassword)
}
