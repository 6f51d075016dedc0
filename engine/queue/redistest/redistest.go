// Package redistest talks to a Redis from tests without a client library:
// one command over RESP, for wiping a test database or reading a key.
package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// Command sends one command to the Redis at addr, in database db (no
// SELECT for 0), and returns the reply: a status or integer line as sent
// ("+OK", ":1"), a bulk string's value, "$-1" for a missing one. An error
// reply is returned as an error.
func Command(addr string, db int, args ...string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	if db != 0 {
		if _, err := send(c, r, "SELECT", fmt.Sprint(db)); err != nil {
			return "", err
		}
	}
	return send(c, r, args...)
}

// send writes one command and reads the first line of its reply, and the
// value of a bulk string.
func send(w io.Writer, r *bufio.Reader, args ...string) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return "", err
	}
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if strings.HasPrefix(line, "-") {
		return "", errors.New("redis: " + line[1:])
	}
	if strings.HasPrefix(line, "$") && line != "$-1" {
		v, err := r.ReadString('\n')
		return strings.TrimRight(v, "\r\n"), err
	}
	return line, nil
}
