# Chapter 8, section 8.3 Multithreading > Python's GIL (PythonのGIL（Global Interpreter Lock）)
# EXPECT: none

import threading
import time

def cpu_bound_task(n):
    """CPUバウンドな処理"""
    count = 0
    for i in range(n):
        count += i ** 2
    return count

# シングルスレッド
start = time.time()
cpu_bound_task(10_000_000)
cpu_bound_task(10_000_000)
print(f"シングルスレッド: {time.time() - start:.2f}秒")

# マルチスレッド（GILのため速くならない）
start = time.time()
t1 = threading.Thread(target=cpu_bound_task, args=(10_000_000,))
t2 = threading.Thread(target=cpu_bound_task, args=(10_000_000,))
t1.start()
t2.start()
t1.join()
t2.join()
print(f"マルチスレッド: {time.time() - start:.2f}秒")

# 結果: ほぼ同じか、マルチスレッドの方が遅いこともある
