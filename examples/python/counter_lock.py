# Chapter 8, section 8.3 Multithreading > Synchronization primitives > Mutex example (ミューテックスの使用例)
# EXPECT: none

import threading

counter = 0
lock = threading.Lock()

def safe_increment():
    global counter
    for _ in range(100000):
        with lock:  # ロックを取得
            counter += 1
        # ロックを自動的に解放

threads = []
for i in range(4):
    t = threading.Thread(target=safe_increment)
    threads.append(t)
    t.start()

for t in threads:
    t.join()

print(f"期待値: 400000, 実際の値: {counter}")
# 出力: 期待値: 400000, 実際の値: 400000
