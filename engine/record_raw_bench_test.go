package engine

import (
	"encoding/json"
	"testing"
	"time"
)

// benchRawRecord is a record of the peer benchmark's customers form as
// stored.
const benchRawRecord = `{"amount":8123.45,"created_on":"2024-01-03T10:07:00Z","level":"gold","name":"Customer 1234","notes":"alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo sierra tango","phone":"+1-555-123-4567","store":"S1"}`

func benchRawForm() (*Form, *Access) {
	f := &Form{byKey: map[string]*Field{}}
	a := &Access{Fields: map[string]string{}}
	for _, k := range []string{"amount", "created_on", "level", "name", "notes", "phone", "store"} {
		f.byKey[k] = &Field{Key: k}
		a.Fields[k] = PermEdit
	}
	a.Fields["phone"] = PermHidden
	return f, a
}

// BenchmarkRawData compares a record's data encoded from its stored text
// with the map's way (decoded by encoding/json here, by the store's faster
// decoder in production, then redacted and encoded).
func BenchmarkRawData(b *testing.B) {
	f, a := benchRawForm()
	plan := newFieldPlan(f, a)
	b.Run("raw", func(b *testing.B) {
		buf := make([]byte, 0, 1024)
		for b.Loop() {
			buf, _ = appendRawData(buf[:0], benchRawRecord, plan)
		}
	})
	b.Run("map", func(b *testing.B) {
		buf := make([]byte, 0, 1024)
		for b.Loop() {
			var m map[string]any
			_ = json.Unmarshal([]byte(benchRawRecord), &m)
			redactInPlace(f, a, m)
			buf, _ = appendJSONValue(buf[:0], m)
		}
	})
}

// BenchmarkJSONTime: a stored timestamp written digit by digit, and by
// AppendFormat.
func BenchmarkJSONTime(b *testing.B) {
	t := time.Date(2026, 12, 7, 3, 4, 5, 123456000, time.UTC)
	buf := make([]byte, 0, 64)
	b.Run("digits", func(b *testing.B) {
		for b.Loop() {
			buf, _ = appendJSONTime(buf[:0], t)
		}
	})
	b.Run("AppendFormat", func(b *testing.B) {
		for b.Loop() {
			buf = t.AppendFormat(buf[:0], time.RFC3339Nano)
		}
	})
}

// benchRawRecordZh is benchRawRecord with Chinese text.
const benchRawRecordZh = `{"amount":8123.45,"created_on":"2024-01-03T10:07:00Z","level":"gold","name":"王小明 1234","notes":"上海市徐汇区漕溪北路 88 号，周末来店，偏好 SUV，已试驾两次，等待贷款审批结果","phone":"+86-138-0013-8000","store":"S1"}`

// BenchmarkRawDataZh: a record of Chinese text encoded from its stored text.
func BenchmarkRawDataZh(b *testing.B) {
	f, a := benchRawForm()
	plan := newFieldPlan(f, a)
	buf := make([]byte, 0, 1024)
	for b.Loop() {
		buf, _ = appendRawData(buf[:0], benchRawRecordZh, plan)
	}
}
