package s3

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// sizeUnits maps a unit (lower case) to its multiplier: KB, MB, GB are
// powers of 1000, KiB, MiB, GiB powers of 1024, as in the rest of the
// configuration.
var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"kb": 1000, "mb": 1000 * 1000, "gb": 1000 * 1000 * 1000,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30,
}

// parseSize parses a whole number of bytes with an optional unit:
// "16MiB", "5242880", "64 MB".
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	mult, ok := sizeUnits[unit]
	if num == "" || !ok {
		return 0, fmt.Errorf("size %q: want a whole number with an optional unit (B, KB, MB, GB, KiB, MiB, GiB)", s)
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("size %q is out of range", s)
	}
	return n * mult, nil
}
