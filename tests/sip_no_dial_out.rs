//! No SIP request can make the bridge dial out (no toll fraud). An "outside world" UDP socket and
//! TCP listener stand on 127.0.0.9 and count anything sent to them; sipp, as a trunk, sends an
//! INVITE whose Request-URI, To and Route name another number on that host, a REFER inside the
//! answered dialog and one outside any dialog, both asking the bridge to call a number there.
//! The bridge answers the INVITE itself (a call to the hotline, never relayed), refuses both
//! REFERs (501, 405), and the outside world receives nothing, even though the bridge's outbound
//! trunk (which rings interpreters' phones for dispatch offers) dials exactly there.
use crate::common;

use common::sipp::{self, dial_through_pbx, sip_settings};
use common::spawn_app;
use common::ws::settings_with_operator;
use hotline_bridge::app::AppState;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, UdpSocket};

const OUTSIDE_IP: &str = "127.0.0.9";
/// After the last request is answered, how long the outside world keeps listening: the bridge
/// would dial at once if it dialled at all, so a negative is bounded by this window.
const GRACE: Duration = Duration::from_secs(1);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_request_makes_the_bridge_send_anything_to_a_third_party() {
    let port = common::ports::free_port();
    let outside = format!("{OUTSIDE_IP}:{port}");
    let udp = UdpSocket::bind(&outside).await.expect("outside UDP");
    let tcp = TcpListener::bind(&outside).await.expect("outside TCP");
    let mut s = settings_with_operator();
    let bridge = sip_settings(&mut s, &["127.0.0.1"]);
    // The bridge can dial, and its outbound trunk is the outside world itself: only a
    // dispatcher's offer to a registered interpreter may use it, never a request.
    dial_through_pbx(&mut s, outside.parse().expect("outside address"));
    let app = spawn_app(AppState::in_memory(s)).await;
    let mut live = app.state.calls.live_count();
    let received = Arc::new(AtomicUsize::new(0));
    let heard = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let (r, h) = (received.clone(), heard.clone());
    let watcher = tokio::spawn(async move {
        let mut buf = vec![0u8; 65536];
        loop {
            tokio::select! {
                Ok((n, from)) = udp.recv_from(&mut buf) => {
                    r.fetch_add(1, Ordering::SeqCst);
                    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                    h.lock().unwrap_or_else(|e| e.into_inner()).push(format!("UDP from {from}:\n{text}"));
                }
                Ok((_, from)) = tcp.accept() => {
                    r.fetch_add(1, Ordering::SeqCst);
                    h.lock().unwrap_or_else(|e| e.into_inner()).push(format!("TCP connection from {from}"));
                }
                else => break,
            }
        }
    });

    let run = sipp::run(
        "no_dial_out.xml",
        "127.0.0.1",
        bridge,
        "12345001",
        &["-key", "outside", &outside],
    )
    .await;
    assert_eq!(
        run.code, 0,
        "200 (answered here), 501, 200, 405:\n{}",
        run.log
    );
    tokio::time::timeout(Duration::from_secs(20), live.wait_for(|n| *n == 0))
        .await
        .expect("the phone's BYE ended the call")
        .expect("registry");
    tokio::time::sleep(GRACE).await;
    watcher.abort();
    assert_eq!(
        received.load(Ordering::SeqCst),
        0,
        "the bridge sent something to the outside world:\n{:?}",
        heard.lock().unwrap_or_else(|e| e.into_inner())
    );
}
