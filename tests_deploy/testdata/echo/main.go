// Command echo is the cluster tests' workload: an HTTP server that names the pod
// serving it, a client mode that fetches a URL (for DNS and Service checks), and a
// CPU-burning endpoint so an HPA has something to measure.
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

func main() {
	fetch := flag.String("fetch", "", "fetch this URL, print the body and exit")
	listen := flag.String("listen", ":8080", "address to serve on")
	flag.Parse()
	if *fetch != "" {
		os.Exit(fetchOnce(*fetch))
	}
	host, _ := os.Hostname()
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from %s\n", host)
	})
	http.HandleFunc("/burn", func(w http.ResponseWriter, r *http.Request) {
		// Spin for 200 ms of CPU so that load shows up in the metrics API.
		end := time.Now().Add(200 * time.Millisecond)
		n := 0
		for time.Now().Before(end) {
			n++
		}
		fmt.Fprintf(w, "burned %d on %s\n", n, host)
	})
	if err := http.ListenAndServe(*listen, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func fetchOnce(url string) int {
	client := http.Client{Timeout: 10 * time.Second}
	for attempt := 0; attempt < 30; attempt++ {
		resp, err := client.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			fmt.Printf("status %d: %s", resp.StatusCode, body)
			if resp.StatusCode == 200 {
				return 0
			}
		} else {
			fmt.Fprintln(os.Stderr, err)
		}
		time.Sleep(time.Second)
	}
	return 1
}
