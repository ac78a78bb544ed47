module kubegate.bench/go-peer

go 1.23
