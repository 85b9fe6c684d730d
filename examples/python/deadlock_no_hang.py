# Chapter 8, section 8.3 Multithreading > Deadlock (デッドロック), variant that never hangs
# EXPECT: lock-order-inversion locks=lock_a,lock_b

# Same code as deadlock.py (same lock order inversion: thread1 takes A then B,
# thread2 takes B then A), but the threads run one after the other: thread2 is
# started only after thread1 has finished, so the program always terminates.

import threading
import time

lock_a = threading.Lock()
lock_b = threading.Lock()

def thread1():
    with lock_a:
        print("スレッド1: ロックAを取得")
        time.sleep(0.1)
        with lock_b:  # ここでデッドロック！（同時に実行された場合）
            print("スレッド1: ロックBを取得")

def thread2():
    with lock_b:
        print("スレッド2: ロックBを取得")
        time.sleep(0.1)
        with lock_a:  # ここでデッドロック！（同時に実行された場合）
            print("スレッド2: ロックAを取得")

# デッドロックを避けるには、常に同じ順序でロックを取得する

if __name__ == "__main__":
    t1 = threading.Thread(target=thread1)
    t1.start()
    t1.join()  # thread1 releases both locks before thread2 starts
    t2 = threading.Thread(target=thread2)
    t2.start()
    t2.join()
