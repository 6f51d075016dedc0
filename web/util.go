package web

import (
	"net/url"
	"strconv"
)

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

func int64s(n int64) string { return strconv.FormatInt(n, 10) }
