# Chapter 8, section 8.2 Multiprocess > IPC > Pipe example (パイプの例)
# EXPECT: none

from multiprocessing import Process, Pipe

def sender(conn):
    """送信側プロセス"""
    messages = ["Hello", "World", "Done"]
    for msg in messages:
        conn.send(msg)
        print(f"送信: {msg}")
    conn.close()

def receiver(conn):
    """受信側プロセス"""
    while True:
        try:
            msg = conn.recv()
            print(f"受信: {msg}")
            if msg == "Done":
                break
        except EOFError:
            break

if __name__ == "__main__":
    parent_conn, child_conn = Pipe()

    p1 = Process(target=sender, args=(parent_conn,))
    p2 = Process(target=receiver, args=(child_conn,))

    p1.start()
    p2.start()

    p1.join()
    p2.join()
