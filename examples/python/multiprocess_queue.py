# Chapter 8, section 8.2 Multiprocess > Multiprocessing in Python (Pythonでのマルチプロセス)
# EXPECT: none

from multiprocessing import Process, Queue
import os
import time

def worker(name, queue):
    """ワーカープロセスの処理"""
    print(f"Worker {name}: PID={os.getpid()}")
    time.sleep(1)
    result = f"Result from {name}"
    queue.put(result)

def main():
    print(f"メインプロセス: PID={os.getpid()}")

    queue = Queue()
    processes = []

    # 複数のプロセスを作成
    for i in range(4):
        p = Process(target=worker, args=(f"Worker-{i}", queue))
        processes.append(p)
        p.start()

    # すべてのプロセスの終了を待つ
    for p in processes:
        p.join()

    # 結果を収集
    while not queue.empty():
        print(f"結果: {queue.get()}")

if __name__ == "__main__":
    main()
