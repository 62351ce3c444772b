package backendtest

// chunkSize is the size of one piece of a memory file. Files are stored in
// pieces so that a big upload grows by one piece at a time instead of
// reallocating (and briefly doubling) one slice; the suite's memory bounds
// hold for the memory backend too.
const chunkSize = 256 << 10

// memData is the content of a memory file: chunkSize pieces, all full
// but the last. A memData value may be shared by readers (a snapshot), so
// it is modified in place only by the upload that owns it (see memNode).
type memData struct {
	chunks [][]byte
	size   int64
}

// clone returns a deep copy that shares nothing with d.
func (d memData) clone() memData {
	c := memData{chunks: make([][]byte, len(d.chunks)), size: d.size}
	for i, ch := range d.chunks {
		c.chunks[i] = append(make([]byte, 0, chunkSize), ch...)
	}
	return c
}

// writeAt copies p to offset off, which must not be beyond the end.
func (d *memData) writeAt(off int64, p []byte) {
	for len(p) > 0 {
		i, o := int(off/chunkSize), int(off%chunkSize)
		if i == len(d.chunks) {
			d.chunks = append(d.chunks, make([]byte, 0, chunkSize))
		}
		ch := d.chunks[i]
		k := min(len(p), chunkSize-o)
		if o+k > len(ch) {
			ch = ch[:o+k]
			d.chunks[i] = ch
		}
		copy(ch[o:], p[:k])
		off += int64(k)
		p = p[k:]
		d.size = max(d.size, off)
	}
}

// truncated returns d cut to n bytes (n <= size) without modifying the
// pieces d shares with snapshots.
func (d memData) truncated(n int64) memData {
	if n >= d.size {
		return d
	}
	k := int((n + chunkSize - 1) / chunkSize)
	t := memData{chunks: make([][]byte, k), size: n}
	copy(t.chunks, d.chunks[:k])
	if k > 0 {
		t.chunks[k-1] = t.chunks[k-1][:n-int64(k-1)*chunkSize]
	}
	return t
}

// readAt copies the bytes at off into p and returns how many it copied.
func (d memData) readAt(p []byte, off int64) int {
	n := 0
	for n < len(p) && off < d.size {
		ch := d.chunks[off/chunkSize]
		k := copy(p[n:], ch[off%chunkSize:])
		n += k
		off += int64(k)
	}
	return n
}
