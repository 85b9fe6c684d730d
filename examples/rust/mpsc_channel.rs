// Chapter 8, section 8.5 Shared memory vs message passing > Rust ownership and message passing (Rustの所有権とメッセージパッシング)
// EXPECT: none

use std::sync::mpsc;
use std::thread;

fn main() {
    let (tx, rx) = mpsc::channel();

    // 送信側スレッド
    let tx1 = tx.clone();
    thread::spawn(move || {
        for i in 0..5 {
            tx1.send(format!("スレッド1: {}", i)).unwrap();
        }
    });

    thread::spawn(move || {
        for i in 0..5 {
            tx.send(format!("スレッド2: {}", i)).unwrap();
        }
    });

    // 受信
    for received in rx {
        println!("受信: {}", received);
    }
}
