# Chapter 8, section 8.5 Shared memory vs message passing > Shared memory model (共有メモリモデル)
# EXPECT: none

import threading

# 共有メモリモデルの例
class SharedCounter:
    def __init__(self):
        self.value = 0
        self.lock = threading.Lock()

    def increment(self):
        with self.lock:
            self.value += 1

    def get(self):
        with self.lock:
            return self.value

counter = SharedCounter()

def worker():
    for _ in range(10000):
        counter.increment()

threads = [threading.Thread(target=worker) for _ in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()

print(f"カウント: {counter.get()}")  # 40000
