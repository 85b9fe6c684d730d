# Chapter 8, section 8.5 Shared memory vs message passing > Message passing model (メッセージパッシングモデル)
# EXPECT: none

from multiprocessing import Process, Queue

# メッセージパッシングモデルの例
def counter_process(queue, result_queue):
    """カウンタープロセス"""
    count = 0
    while True:
        msg = queue.get()
        if msg == "increment":
            count += 1
        elif msg == "get":
            result_queue.put(count)
        elif msg == "stop":
            break

def worker(queue, n):
    """ワーカープロセス"""
    for _ in range(n):
        queue.put("increment")

if __name__ == "__main__":
    queue = Queue()
    result_queue = Queue()

    # カウンタープロセスを開始
    counter = Process(target=counter_process, args=(queue, result_queue))
    counter.start()

    # ワーカープロセスを開始
    workers = [
        Process(target=worker, args=(queue, 10000))
        for _ in range(4)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()

    # 結果を取得
    queue.put("get")
    print(f"カウント: {result_queue.get()}")  # 40000

    queue.put("stop")
    counter.join()
