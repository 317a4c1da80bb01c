// grpcbench: gRPC-Go measured the way rpcnet-bench and grpc-bench measure RpcNet and gRPC-Swift 2:
// unary latency with one call in flight, unary calls/s with 64 in flight on one connection, a
// server stream of 64-byte messages, and a new connection (TLS handshake) plus its first call.
// Server and client run in this one process over HTTP/2 + TLS 1.3 on 127.0.0.1, so CPU figures
// cover both sides, as the Swift programs' do. Messages are raw bytes (no protobuf).
//
// Built in GOPATH mode from Debian's golang-go and golang-google-grpc-dev (gRPC-Go 1.33):
//
//	GO111MODULE=off GOPATH=$PWD/Benchmarks/GRPCGo:/usr/share/gocode GOPROXY=off go build grpcbench
//
// Every line starting "result " is for Benchmarks/bench-compare.py: "result <key> <value>".
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/encoding"
)

// rawCodec replaces the "proto" codec: a message is a *[]byte sent as it is.
type rawCodec struct{}

func (rawCodec) Marshal(v interface{}) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v interface{}) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

const (
	echoMethod   = "/bench.Bench/Echo"
	streamMethod = "/bench.Bench/Stream"
)

// benchService is bench.Bench: Echo returns its request; Stream answers a decimal count with
// that many 64-byte messages, each sent on its own.
var benchService = grpc.ServiceDesc{
	ServiceName: "bench.Bench",
	HandlerType: (*interface{})(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Echo",
		Handler: func(_ interface{}, ctx context.Context, decode func(interface{}) error, _ grpc.UnaryServerInterceptor) (interface{}, error) {
			request := new([]byte)
			if err := decode(request); err != nil {
				return nil, err
			}
			return request, nil
		},
	}},
	Streams: []grpc.StreamDesc{{
		StreamName:    "Stream",
		ServerStreams: true,
		Handler: func(_ interface{}, stream grpc.ServerStream) error {
			request := new([]byte)
			if err := stream.RecvMsg(request); err != nil {
				return err
			}
			count, _ := strconv.Atoi(string(*request))
			message := make([]byte, 64)
			for i := 0; i < count; i++ {
				if err := stream.SendMsg(&message); err != nil {
					return err
				}
			}
			return nil
		},
	}},
}

var streamDescription = grpc.StreamDesc{StreamName: "Stream", ServerStreams: true}

type bench struct {
	certs       string
	roundTrips  int
	connections int
	address     string
	client      credentials.TransportCredentials
	// resuming is client credentials with a TLS session cache, so a new connection resumes
	// the session of an earlier one (RFC 8446 §2.2) as RpcNet's client does by default.
	resuming credentials.TransportCredentials
}

// usage is the process's CPU time (user + system) and context switches so far.
type usage struct {
	cpu      time.Duration
	switches int64
}

func usageNow() usage {
	var r syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &r)
	return usage{
		cpu:      time.Duration(r.Utime.Nano() + r.Stime.Nano()),
		switches: r.Nvcsw + r.Nivcsw,
	}
}

func (u usage) since(start usage) usage {
	return usage{cpu: u.cpu - start.cpu, switches: u.switches - start.switches}
}

func (u usage) report(operations int) string {
	return fmt.Sprintf("CPU %.1f µs, %.2f context switches per op",
		float64(u.cpu.Microseconds())/float64(operations), float64(u.switches)/float64(operations))
}

func percentile(samples []time.Duration, fraction float64) float64 {
	sorted := append([]time.Duration(nil), samples...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	index := int(float64(len(sorted)) * fraction)
	if index >= len(sorted) {
		index = len(sorted) - 1
	}
	return float64(sorted[index].Nanoseconds()) / 1e3
}

func row(name string, samples []time.Duration) string {
	return fmt.Sprintf("%-62s p50 %8.1f µs   p99 %8.1f µs", name, percentile(samples, 0.5), percentile(samples, 0.99))
}

func (b *bench) dial() (*grpc.ClientConn, error) {
	return grpc.Dial(b.address, grpc.WithTransportCredentials(b.client))
}

// resumingCredentials trusts ca.pem, like b.client, and keeps session tickets.
func resumingCredentials(certs string) (credentials.TransportCredentials, error) {
	pem, err := os.ReadFile(certs + "/ca.pem")
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificate in %s/ca.pem", certs)
	}
	return credentials.NewTLS(&tls.Config{
		RootCAs: roots, ServerName: "localhost", ClientSessionCache: tls.NewLRUClientSessionCache(64),
	}), nil
}

// connected dials and makes one call, so that a measurement starts on an established connection.
func (b *bench) connected() (*grpc.ClientConn, error) {
	conn, err := b.dial()
	if err != nil {
		return nil, err
	}
	if _, err := echo(conn, []byte{1}); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// echo makes one unary call with a 5 s deadline, as every call in the Swift programs has.
func echo(conn *grpc.ClientConn, message []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reply := new([]byte)
	err := conn.Invoke(ctx, echoMethod, &message, reply)
	return *reply, err
}

func (b *bench) latency() error {
	conn, err := b.connected()
	if err != nil {
		return err
	}
	defer conn.Close()
	message := make([]byte, 64)
	warmUp := b.roundTrips / 10
	samples := make([]time.Duration, 0, b.roundTrips)
	var start usage
	for i := 0; i < b.roundTrips+warmUp; i++ {
		if i == warmUp {
			start = usageNow()
		}
		sent := time.Now()
		reply, err := echo(conn, message)
		if err != nil {
			return err
		}
		if i >= warmUp {
			samples = append(samples, time.Since(sent))
		}
		if len(reply) != len(message) {
			return fmt.Errorf("echo returned %d bytes, not %d", len(reply), len(message))
		}
	}
	used := usageNow().since(start)
	fmt.Println(row("gRPC-Go unary round trip, 64 B, one call in flight", samples))
	fmt.Println("  " + used.report(b.roundTrips))
	fmt.Printf("result unary_p50_us %.1f\n", percentile(samples, 0.5))
	fmt.Printf("result unary_cpu_us %.1f\n", float64(used.cpu.Nanoseconds())/1e3/float64(b.roundTrips))
	return nil
}

func (b *bench) throughput() error {
	conn, err := b.connected()
	if err != nil {
		return err
	}
	defer conn.Close()
	perWorker := b.roundTrips / 16
	if perWorker < 100 {
		perWorker = 100
	}
	start := usageNow()
	began := time.Now()
	var wait sync.WaitGroup
	failures := make(chan error, 64)
	for w := 0; w < 64; w++ {
		wait.Add(1)
		go func() {
			defer wait.Done()
			for i := 0; i < perWorker; i++ {
				if _, err := echo(conn, make([]byte, 64)); err != nil {
					failures <- err
					return
				}
			}
		}()
	}
	wait.Wait()
	seconds := time.Since(began).Seconds()
	close(failures)
	if err := <-failures; err != nil {
		return err
	}
	calls := 64 * perWorker
	fmt.Printf("gRPC-Go unary calls/s, 64 in flight on one connection: %10.0f calls/s (%d in %.2f s)\n",
		float64(calls)/seconds, calls, seconds)
	fmt.Println("  " + usageNow().since(start).report(calls))
	fmt.Printf("result calls_per_s %.0f\n", float64(calls)/seconds)
	return nil
}

func (b *bench) stream() error {
	conn, err := b.connected()
	if err != nil {
		return err
	}
	defer conn.Close()
	count := b.roundTrips * 25
	// The stream's deadline is long: it bounds a whole transfer, not one message.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	start := usageNow()
	began := time.Now()
	stream, err := conn.NewStream(ctx, &streamDescription, streamMethod)
	if err != nil {
		return err
	}
	request := []byte(strconv.Itoa(count))
	if err := stream.SendMsg(&request); err != nil {
		return err
	}
	if err := stream.CloseSend(); err != nil {
		return err
	}
	received := 0
	for {
		message := new([]byte)
		err := stream.RecvMsg(message)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		received++
	}
	seconds := time.Since(began).Seconds()
	if received != count {
		return fmt.Errorf("stream delivered %d of %d messages", received, count)
	}
	fmt.Printf("gRPC-Go server stream of 64 B messages: %10.0f messages/s (%d in %.2f s)\n",
		float64(received)/seconds, received, seconds)
	fmt.Println("  " + usageNow().since(start).report(received))
	fmt.Printf("result stream_msgs_per_s %.0f\n", float64(received)/seconds)
	return nil
}

// connect times a new connection (TCP, TLS 1.3 handshake, HTTP/2 set-up) and its first call,
// with full handshakes, then resuming TLS sessions; the credentials (CA file read) are made
// once, before, as the Swift programs make theirs.
func (b *bench) connect() error {
	if err := b.connectWith(b.client, "full TLS handshake", "connect_p50_us"); err != nil {
		return err
	}
	return b.connectWith(b.resuming, "TLS resumed", "connect_resumed_p50_us")
}

func (b *bench) connectWith(client credentials.TransportCredentials, kind, key string) error {
	samples := make([]time.Duration, 0, b.connections)
	var used usage
	for i := 0; i < b.connections; i++ {
		before := usageNow()
		began := time.Now()
		conn, err := grpc.Dial(b.address, grpc.WithTransportCredentials(client))
		if err != nil {
			return err
		}
		if _, err := echo(conn, []byte{1}); err != nil {
			return err
		}
		samples = append(samples, time.Since(began))
		spent := usageNow().since(before)
		used.cpu += spent.cpu
		used.switches += spent.switches
		conn.Close()
	}
	fmt.Println(row("gRPC-Go new connection ("+kind+") + first call", samples))
	fmt.Println("  " + used.report(b.connections))
	fmt.Printf("result %s %.1f\n", key, percentile(samples, 0.5))
	return nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "grpcbench:", err)
	os.Exit(1)
}

func main() {
	b := &bench{}
	flag.StringVar(&b.certs, "certs", "certs", "directory holding ca.pem, server.pem and server-key.pem")
	flag.IntVar(&b.roundTrips, "round-trips", 20000,
		"unary calls measured for the latency figure (after a warm-up of a tenth as many); the throughput figure makes 64 × (this / 16) calls, the stream sends 25 × this messages")
	flag.IntVar(&b.connections, "connections", 200, "connections opened for the connection set-up figure")
	parts := flag.String("parts", "latency,throughput,stream,connect", "comma-separated figures to measure")
	flag.Parse()
	encoding.RegisterCodec(rawCodec{})

	serverCredentials, err := credentials.NewServerTLSFromFile(b.certs+"/server.pem", b.certs+"/server-key.pem")
	if err != nil {
		fail(fmt.Errorf("--certs %s: %v", b.certs, err))
	}
	b.client, err = credentials.NewClientTLSFromFile(b.certs+"/ca.pem", "localhost")
	if err != nil {
		fail(fmt.Errorf("--certs %s: %v", b.certs, err))
	}
	b.resuming, err = resumingCredentials(b.certs)
	if err != nil {
		fail(fmt.Errorf("--certs %s: %v", b.certs, err))
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	b.address = listener.Addr().String()
	server := grpc.NewServer(grpc.Creds(serverCredentials))
	server.RegisterService(&benchService, nil)
	go server.Serve(listener)
	defer server.Stop()

	fmt.Printf("gRPC-Go %s on %d CPUs, %s, GOMAXPROCS=%d; HTTP/2 + TLS 1.3 on 127.0.0.1, raw-bytes messages, 5 s deadline per call\n",
		grpc.Version, runtime.NumCPU(), runtime.Version(), runtime.GOMAXPROCS(0))
	fmt.Printf("round trips: %d × 64 B; connections: %d\n\n", b.roundTrips, b.connections)
	measurements := map[string]func() error{
		"latency": b.latency, "throughput": b.throughput, "stream": b.stream, "connect": b.connect,
	}
	for _, part := range strings.Split(*parts, ",") {
		measure, known := measurements[strings.TrimSpace(part)]
		if !known {
			fail(fmt.Errorf("--parts: %q is not one of latency, throughput, stream, connect", part))
		}
		if err := measure(); err != nil {
			fail(fmt.Errorf("%s: %v", part, err))
		}
	}
}
