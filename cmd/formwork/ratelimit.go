package main

import (
	"log/slog"

	"formwork/engine/queue"
	"formwork/server"
)

// sharedLimits is where the HTTP server keeps its rate limits' counts: in
// the queue's Redis when FORMWORK_REDIS_ADDR is set, so every web node
// counts against the same limits; nil (each process in memory) on the
// embedded queue, which only one process uses. The connection lives as
// long as the process.
func sharedLimits(q *queueConn, log *slog.Logger) server.RateStore {
	if q.embedded != nil {
		return nil
	}
	r, err := queue.NewRedisRates(q.opt, queue.RateOptions{})
	if err != nil {
		log.Warn("rate limits: counted per process in memory", "err", err)
		return nil
	}
	return r
}
