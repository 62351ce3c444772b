// Command bcrypthash prints a bcrypt hash of the first line of stdin. The
// benchmark script deploy/bench/compare.sh uses it to give ftpsgw,
// pure-ftpd and vsftpd (through /etc/shadow and libxcrypt) the same $2b$
// hash, so every server pays the same cost per login.
//
//	echo PW | go run ./cmd/ftpsbench/bcrypthash -cost 5
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

func main() {
	cost := flag.Int("cost", 5, "bcrypt cost (4..31)")
	flag.Parse()
	line, err := bufio.NewReader(io.LimitReader(os.Stdin, 128)).ReadString('\n')
	if err != nil && err != io.EOF {
		fmt.Fprintln(os.Stderr, "bcrypthash:", err)
		os.Exit(1)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" || len(pw) > 72 {
		fmt.Fprintln(os.Stderr, "bcrypthash: want a password of 1..72 bytes on stdin")
		os.Exit(2)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), *cost)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bcrypthash:", err)
		os.Exit(1)
	}
	// x/crypto writes $2a$; the algorithm is the same and libxcrypt and
	// pure-ftpd's crypt() read both, but $2b$ is the name they document.
	fmt.Println("$2b$" + strings.TrimPrefix(string(h), "$2a$"))
}
