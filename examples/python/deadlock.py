# Chapter 8, section 8.3 Multithreading > Deadlock (デッドロック)
# EXPECT: lock-order-inversion locks=lock_a,lock_b
# EXPECT: deadlock
# HANGS: yes

import threading
import time

lock_a = threading.Lock()
lock_b = threading.Lock()

def thread1():
    with lock_a:
        print("スレッド1: ロックAを取得")
        time.sleep(0.1)
        with lock_b:  # ここでデッドロック！
            print("スレッド1: ロックBを取得")

def thread2():
    with lock_b:
        print("スレッド2: ロックBを取得")
        time.sleep(0.1)
        with lock_a:  # ここでデッドロック！
            print("スレッド2: ロックAを取得")

# デッドロックを避けるには、常に同じ順序でロックを取得する

# --- Added for concwatch (not in the chapter): the chapter only defines the two
# --- functions; start them concurrently so the deadlock really happens.
# --- Both threads take their first lock, sleep 0.1 s, then wait forever.
if __name__ == "__main__":
    t1 = threading.Thread(target=thread1)
    t2 = threading.Thread(target=thread2)
    t1.start()
    t2.start()
    t1.join()  # never returns
    t2.join()
