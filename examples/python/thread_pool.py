# Chapter 8, section 8.4 Thread pool > Thread pool in Python (Pythonでのスレッドプール)
# EXPECT: none

from concurrent.futures import ThreadPoolExecutor, as_completed
import time

def task(name, duration):
    """タスクの処理"""
    print(f"タスク {name}: 開始")
    time.sleep(duration)
    print(f"タスク {name}: 完了")
    return f"Result from {name}"

def main():
    # スレッドプールを作成（最大4スレッド）
    with ThreadPoolExecutor(max_workers=4) as executor:
        # タスクを投入
        futures = {
            executor.submit(task, f"Task-{i}", i % 3 + 1): i 
            for i in range(8)
        }

        # 完了したタスクから結果を取得
        for future in as_completed(futures):
            task_id = futures[future]
            try:
                result = future.result()
                print(f"タスク {task_id} の結果: {result}")
            except Exception as e:
                print(f"タスク {task_id} でエラー: {e}")

if __name__ == "__main__":
    main()
