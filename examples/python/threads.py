# Chapter 8, section 8.3 Multithreading > Multithreading in Python (Pythonでのマルチスレッド)
# EXPECT: none

import threading
import time

def worker(name, duration):
    """ワーカースレッドの処理"""
    print(f"スレッド {name}: 開始")
    time.sleep(duration)
    print(f"スレッド {name}: 完了")

def main():
    threads = []

    # 複数のスレッドを作成
    for i in range(4):
        t = threading.Thread(
            target=worker, 
            args=(f"Worker-{i}", i + 1)
        )
        threads.append(t)
        t.start()

    # すべてのスレッドの終了を待つ
    for t in threads:
        t.join()

    print("すべてのスレッドが完了")

if __name__ == "__main__":
    main()
