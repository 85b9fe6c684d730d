# Chapter 8, section 8.3 Multithreading > Thread synchronization problems (スレッドの同期問題)
# EXPECT: data-race var=counter

import threading

counter = 0

def increment():
    global counter
    for _ in range(100000):
        # この操作はアトミックではない！
        counter += 1

threads = []
for i in range(4):
    t = threading.Thread(target=increment)
    threads.append(t)
    t.start()

for t in threads:
    t.join()

print(f"期待値: 400000, 実際の値: {counter}")
# 出力例: 期待値: 400000, 実際の値: 285743
