// Chapter 8, section 8.5 Shared memory vs message passing > Go channels (Go言語のチャネル)
// EXPECT: none

package main

import (
    "fmt"
    "sync"
)

func main() {
    // チャネルを作成
    ch := make(chan int)
    var wg sync.WaitGroup

    // 送信側ゴルーチン
    for i := 0; i < 4; i++ {
        wg.Add(1)
        go func(id int) {
            defer wg.Done()
            for j := 0; j < 10000; j++ {
                ch <- 1
            }
        }(i)
    }

    // 受信側ゴルーチン
    go func() {
        wg.Wait()
        close(ch)
    }()

    // カウント
    count := 0
    for val := range ch {
        count += val
    }

    fmt.Printf("カウント: %d\n", count)  // 40000
}
