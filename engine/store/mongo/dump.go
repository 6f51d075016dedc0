package mongo

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"sort"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"formwork/engine"
)

// A dump is a stream of BSON documents, each as the server returned it:
// a header {format, version, database, point_in_time}, then per collection
// {c} followed by one {c, d} per document in _id order, then a trailer
// {end: true, digest: {collection: {rows, sha256}}} computed while reading,
// so a load can check it holds exactly what was read.
const (
	dumpFormat  = "formwork-mongo-dump"
	dumpVersion = 1
	// maxDumpDoc bounds one entry: a 16 MiB document and its wrapping.
	maxDumpDoc = 17 << 20
	loadBatch  = 500
)

// ErrBadDump is returned, wrapped, when a dump is not one Dump wrote or
// ends early.
var ErrBadDump = errors.New("not a complete Formwork MongoDB dump")

// DumpInfo says how a dump was read.
type DumpInfo struct {
	// PointInTime is true when every collection was read in one snapshot
	// session (a replica set or sharded cluster with MongoDB 5.0 or later).
	PointInTime bool
	// Why says why the dump is not point-in-time (empty when it is).
	Why string
	// Collections is the logical hash of each collection as dumped.
	Collections map[string]engine.TableDigest
}

// DumpFile writes every collection of the store's database to a new file
// at path. With transactions on it reads them in one snapshot session, so
// the dump holds every write committed before its start and none after;
// without (FORMWORK_MONGO_TRANSACTIONS=off), or when the server refuses
// a snapshot read (an older server), it reads one collection after
// another and says so in DumpInfo.Why: writes during the dump may then be
// half in it.
func (s *Store) DumpFile(ctx context.Context, path string) (DumpInfo, error) {
	if !s.tx {
		return s.dumpFile(ctx, path, false, "transactions are off (FORMWORK_MONGO_TRANSACTIONS=off): the server has no snapshot sessions")
	}
	info, err := s.dumpFile(ctx, path, true, "")
	var se mongo.ServerError
	if err == nil || ctx.Err() != nil || !errors.As(err, &se) {
		return info, err
	}
	return s.dumpFile(ctx, path, false, fmt.Sprintf("the server refused a snapshot read (%v)", err))
}

func (s *Store) dumpFile(ctx context.Context, path string, snapshot bool, why string) (DumpInfo, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return DumpInfo{}, fmt.Errorf("mongo dump: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	info, err := s.dump(ctx, w, snapshot)
	if err == nil {
		err = w.Flush()
	}
	if err = errors.Join(err, f.Sync(), f.Close()); err != nil {
		return DumpInfo{}, fmt.Errorf("mongo dump: %w", err)
	}
	info.Why = why
	return info, nil
}

// collectionNames lists the database's collections in name order,
// leaving out the server's own (system.*).
func (s *Store) collectionNames(ctx context.Context) ([]string, error) {
	names, err := s.db.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		return nil, err
	}
	out := names[:0]
	for _, n := range names {
		if !strings.HasPrefix(n, "system.") {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out, nil
}

func (s *Store) dump(ctx context.Context, w io.Writer, snapshot bool) (DumpInfo, error) {
	// listCollections takes no snapshot read concern; the collections
	// themselves are read in the session
	names, err := s.collectionNames(ctx)
	if err != nil {
		return DumpInfo{}, err
	}
	info := DumpInfo{PointInTime: snapshot, Collections: map[string]engine.TableDigest{}}
	if snapshot {
		sess, err := s.client.StartSession(options.Session().SetSnapshot(true))
		if err != nil {
			return DumpInfo{}, err
		}
		defer sess.EndSession(context.WithoutCancel(ctx))
		ctx = mongo.NewSessionContext(ctx, sess)
	}
	if err := writeEntry(w, bson.D{{Key: "format", Value: dumpFormat}, {Key: "version", Value: dumpVersion},
		{Key: "database", Value: s.db.Name()}, {Key: "point_in_time", Value: snapshot}}); err != nil {
		return DumpInfo{}, err
	}
	for _, n := range names {
		if err := writeEntry(w, bson.D{{Key: "c", Value: n}}); err != nil {
			return DumpInfo{}, err
		}
		d, err := eachDoc(ctx, s.db.Collection(n), func(doc bson.Raw) error {
			return writeEntry(w, bson.D{{Key: "c", Value: n}, {Key: "d", Value: doc}})
		})
		if err != nil {
			return DumpInfo{}, fmt.Errorf("%s: %w", n, err)
		}
		info.Collections[n] = d
	}
	return info, writeEntry(w, bson.D{{Key: "end", Value: true}, {Key: "digest", Value: info.Collections}})
}

// eachDoc calls fn with every document of c in _id order and returns the
// collection's logical hash: its count and a SHA-256 over each document's
// length and BSON bytes, which keep field order and number types.
func eachDoc(ctx context.Context, c *mongo.Collection, fn func(bson.Raw) error) (engine.TableDigest, error) {
	cur, err := c.Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return engine.TableDigest{}, err
	}
	defer cur.Close(context.WithoutCancel(ctx))
	h := sha256.New()
	var n int64
	for cur.Next(ctx) {
		hashDoc(h, cur.Current)
		n++
		if fn != nil {
			if err := fn(cur.Current); err != nil {
				return engine.TableDigest{}, err
			}
		}
	}
	if err := cur.Err(); err != nil {
		return engine.TableDigest{}, err
	}
	return engine.TableDigest{Rows: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

func hashDoc(h hash.Hash, doc bson.Raw) {
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(doc))))
	h.Write(doc)
}

func writeEntry(w io.Writer, v any) error {
	b, err := bson.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// Digest returns a logical hash of every collection of the store's
// database (records, revisions, docs with the file chunks and wrapped data
// keys, doc_unique, audit, outbox, meta, counters, serials), each over its
// documents in _id order.
func (s *Store) Digest(ctx context.Context) (map[string]engine.TableDigest, error) {
	names, err := s.collectionNames(ctx)
	if err != nil {
		return nil, fmt.Errorf("mongo digest: %w", err)
	}
	out := map[string]engine.TableDigest{}
	for _, n := range names {
		d, err := eachDoc(ctx, s.db.Collection(n), nil)
		if err != nil {
			return nil, fmt.Errorf("mongo digest %s: %w", n, err)
		}
		out[n] = d
	}
	return out, nil
}

// Restore loads the dump at path into the database opts.Database on the
// server at uri, which must hold no collection yet, opens the store on it
// and checks that every collection hashes as it did when dumped. On any
// failure it drops the database again, so nothing half-loaded stays.
func Restore(ctx context.Context, uri string, opts Options, path string) (*Store, error) {
	if opts.Database == "" {
		return nil, errors.New("mongo restore: no database named")
	}
	client, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		return nil, fmt.Errorf("mongo restore: %w", err)
	}
	defer client.Disconnect(context.WithoutCancel(ctx))
	db := client.Database(opts.Database)
	have, err := db.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		return nil, fmt.Errorf("mongo restore: %w", err)
	}
	if len(have) > 0 {
		return nil, fmt.Errorf("mongo restore: database %q already holds %d collection(s); restore into a new database", opts.Database, len(have))
	}
	s, err := restore(ctx, db, uri, opts, path)
	if err != nil {
		_ = db.Drop(context.WithoutCancel(ctx))
		return nil, err
	}
	return s, nil
}

func restore(ctx context.Context, db *mongo.Database, uri string, opts Options, path string) (*Store, error) {
	want, err := load(ctx, db, path)
	if err != nil {
		return nil, fmt.Errorf("mongo restore: %w", err)
	}
	s, err := Open(ctx, uri, opts)
	if err != nil {
		return nil, err
	}
	got, err := s.Digest(ctx)
	if err != nil {
		s.Close()
		return nil, err
	}
	var diff []string
	for n, d := range want {
		if got[n] != d {
			diff = append(diff, fmt.Sprintf("%s: dumped %d documents, loaded %d (contents differ)", n, d.Rows, got[n].Rows))
		}
	}
	for n, d := range got {
		if _, ok := want[n]; !ok {
			diff = append(diff, fmt.Sprintf("%s: not dumped, loaded %d documents", n, d.Rows))
		}
	}
	if len(diff) > 0 {
		sort.Strings(diff)
		s.Close()
		return nil, fmt.Errorf("mongo restore: the loaded database differs from the dump: %s", strings.Join(diff, "; "))
	}
	return s, nil
}

// load inserts the dump's documents into db and returns the digests the
// dump ends with.
func load(ctx context.Context, db *mongo.Database, path string) (map[string]engine.TableDigest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	var head struct {
		Format  string `bson:"format"`
		Version int    `bson:"version"`
	}
	raw, err := readEntry(r)
	if err != nil {
		return nil, err
	}
	if err := bson.Unmarshal(raw, &head); err != nil || head.Format != dumpFormat {
		return nil, fmt.Errorf("%w: bad header", ErrBadDump)
	}
	if head.Version != dumpVersion {
		return nil, fmt.Errorf("dump version %d is not supported (this binary reads %d)", head.Version, dumpVersion)
	}
	var coll string
	var batch []any
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		_, err := db.Collection(coll).InsertMany(ctx, batch)
		batch = batch[:0]
		if err != nil {
			return fmt.Errorf("load %s: %w", coll, err)
		}
		return nil
	}
	for {
		raw, err := readEntry(r)
		if err != nil {
			return nil, err
		}
		var e struct {
			C      string                        `bson:"c"`
			D      bson.Raw                      `bson:"d"`
			End    bool                          `bson:"end"`
			Digest map[string]engine.TableDigest `bson:"digest"`
		}
		if err := bson.Unmarshal(raw, &e); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadDump, err)
		}
		switch {
		case e.End:
			if err := flush(); err != nil {
				return nil, err
			}
			if _, err := r.Peek(1); err != io.EOF {
				return nil, fmt.Errorf("%w: data after its end", ErrBadDump)
			}
			return e.Digest, nil
		case e.C != "" && e.D == nil:
			if err := flush(); err != nil {
				return nil, err
			}
			coll = e.C
			if err := db.CreateCollection(ctx, coll); err != nil {
				return nil, fmt.Errorf("create %s: %w", coll, err)
			}
		case e.C != "" && e.C == coll:
			batch = append(batch, e.D)
			if len(batch) == loadBatch {
				if err := flush(); err != nil {
					return nil, err
				}
			}
		default:
			return nil, fmt.Errorf("%w: a document outside its collection", ErrBadDump)
		}
	}
}

// readEntry reads one BSON document; io.EOF before the trailer is a cut.
func readEntry(r *bufio.Reader) (bson.Raw, error) {
	lb, err := r.Peek(4)
	if err != nil {
		return nil, fmt.Errorf("%w: it ends early", ErrBadDump)
	}
	n := int(binary.LittleEndian.Uint32(lb))
	if n < 5 || n > maxDumpDoc {
		return nil, fmt.Errorf("%w: an entry of %d bytes", ErrBadDump, n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("%w: it ends early", ErrBadDump)
	}
	if err := bson.Raw(b).Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadDump, err)
	}
	return b, nil
}

// CountCollections returns how many collections database name on the
// server at uri holds (0 for a database that does not exist), without
// creating anything.
func CountCollections(ctx context.Context, uri, name string) (int, error) {
	client, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		return 0, fmt.Errorf("mongo connect: %w", err)
	}
	defer client.Disconnect(context.WithoutCancel(ctx))
	names, err := client.Database(name).ListCollectionNames(ctx, bson.D{})
	if err != nil {
		return 0, fmt.Errorf("mongo list collections of %s: %w", name, err)
	}
	return len(names), nil
}
