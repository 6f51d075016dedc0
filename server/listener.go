package server

import (
	"io"
	"net"
	"runtime"
	"sync/atomic"
)

// WrapListener returns ln with connections on which net/http does not
// watch, while a handler runs, for the client to leave.
//
// For every request, net/http starts a goroutine that reads one byte of the
// connection while the handler runs, so that a client that hangs up cancels
// the request's context, and when the handler is done it makes that read
// fail and waits for the goroutine to end. Each of the two wakes a parked
// goroutine, and on an otherwise idle server each wake starts a thread on
// another processor: at one client the watch cost a read by id an eighth
// of its CPU time (265 against 231 us) and 1.4 of its 7.7 context switches
// (peer workload). Here that read returns at once having read nothing,
// which the goroutine takes as "nothing to see" and ends.
//
// What this gives up: a request whose client leaves is not cancelled; it
// runs to its end, and its answer fails to write. Every handler here is
// bounded (pages have limits; exports, imports and backups are jobs), and
// none streams. Pipelined requests are unaffected (the one-byte read
// consumed their first byte; now the next read of the request does). Over
// TLS the connection net/http reads is the TLS one, which reads whole
// records, so the watch works as usual there.
func WrapListener(ln net.Listener) net.Listener { return quietListener{ln} }

type quietListener struct{ net.Listener }

func (l quietListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &quietConn{c}, nil
}

type quietConn struct{ net.Conn }

// Read is the connection's, but for net/http's one-byte watch.
func (c *quietConn) Read(p []byte) (int, error) {
	if len(p) == 1 && calledByWatch() {
		watchesSkipped.Add(1)
		return 0, nil
	}
	return c.Conn.Read(p)
}

// ReadFrom and CloseWrite are the connection's, which net/http looks for
// on it: to send a file's body with sendfile, and to half-close a
// connection it is done with before closing it.
func (c *quietConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}

func (c *quietConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// watchReader is the net/http function that reads one byte to watch for
// the client leaving; watchPC, once known, is where it calls Read from.
const watchReader = "net/http.(*connReader).backgroundRead"

var (
	watchPC        atomic.Uintptr
	watchesSkipped atomic.Int64 // reads of the watch answered at once (a test's probe)
)

// calledByWatch reports whether quietConn.Read's caller is watchReader.
// A one-byte read by anything else (net/http reading a request line into
// the last byte of its buffer) reads as usual.
func calledByWatch() bool {
	var pc [1]uintptr
	if runtime.Callers(3, pc[:]) == 0 { // runtime.Callers, calledByWatch, Read
		return false
	}
	if known := watchPC.Load(); known != 0 {
		return pc[0] == known
	}
	f, _ := runtime.CallersFrames(pc[:]).Next()
	if f.Function != watchReader {
		return false
	}
	watchPC.Store(pc[0])
	return true
}
