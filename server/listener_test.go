package server

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestWrapListener: behind WrapListener net/http's one-byte watch of each
// request ends at once (counted: a Go release that renames the watch shows
// here), and requests still read whole: two pipelined in one write, a
// request line longer than net/http's 4 KiB buffer sent a byte short of it
// first, and a body; a file is still sent through the connection's
// ReadFrom, and the connection still half-closes (CloseWrite).
func TestWrapListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "f.txt")
	if err := os.WriteFile(file, []byte(strings.Repeat("文件", 3000)), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/file" { // its body through the connection's ReadFrom
			http.ServeFile(w, r, file)
			return
		}
		body, _ := io.ReadAll(r.Body)
		_, _ = io.WriteString(w, r.Method+" "+r.URL.Path[:min(len(r.URL.Path), 12)]+" "+string(body))
	})}
	go srv.Serve(WrapListener(ln))
	defer srv.Close()

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	read := func(want string) {
		t.Helper()
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(b) != want {
			t.Fatalf("answer %d %q, want 200 %q", resp.StatusCode, b, want)
		}
	}
	before := watchesSkipped.Load()

	// two requests in one write
	if _, err := io.WriteString(c, "GET /one HTTP/1.1\r\nHost: x\r\n\r\nPOST /two HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody"); err != nil {
		t.Fatal(err)
	}
	read("GET /one ")
	read("POST /two body")

	// a request line of 6,000 bytes whose first write leaves net/http's
	// buffer one byte short of full, the rest a moment later
	line := "GET /" + strings.Repeat("a", 6000) + " HTTP/1.1\r\nHost: x\r\n\r\n"
	if _, err := io.WriteString(c, line[:4095]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if _, err := io.WriteString(c, line[4095:]); err != nil {
		t.Fatal(err)
	}
	read("GET /aaaaaaaaaaa ")

	if _, err := io.WriteString(c, "GET /file HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	read(strings.Repeat("文件", 3000))

	var conn net.Conn = &quietConn{c}
	if _, ok := conn.(io.ReaderFrom); !ok {
		t.Error("the wrapped connection hides ReadFrom")
	}
	if _, ok := conn.(interface{ CloseWrite() error }); !ok {
		t.Error("the wrapped connection hides CloseWrite")
	}

	if n := watchesSkipped.Load() - before; n < 3 {
		t.Fatalf("net/http's watch was skipped %d times for 3 requests; has %s been renamed?", n, watchReader)
	}
}
