import type { ReactNode } from 'react';
import { Navigate, Route, Routes, useLocation } from 'react-router';
import { ChatProvider } from './chat/ChatContext';
import { LoginPage, RegisterPage } from './pages/AuthPages';
import { ChatLayout, NoConversation } from './pages/ChatLayout';
import { ConversationPage } from './pages/ConversationPage';
import { RoomsPage } from './pages/RoomsPage';
import { useAuth } from './session/AuthContext';

function Splash({ children }: { children: ReactNode }) {
  return (
    <main className="splash" aria-busy="true">
      {children}
    </main>
  );
}

/** The signed-in part of the app, or a redirect to the sign-in page. */
function SignedIn() {
  const { state, revalidate } = useAuth();
  const location = useLocation();
  if (state.status === 'loading') return <Splash>Loading...</Splash>;
  if (state.status === 'unreachable') {
    return (
      <Splash>
        <p role="alert">Could not reach the server.</p>
        <button type="button" className="button primary" onClick={revalidate}>
          Try again
        </button>
      </Splash>
    );
  }
  if (state.status === 'anonymous') {
    return <Navigate to="/login" replace state={{ from: location.pathname + location.search }} />;
  }
  return (
    <ChatProvider key={state.user.id} user={state.user}>
      <ChatLayout user={state.user} />
    </ChatProvider>
  );
}

export function App() {
  return (
    <Routes>
      <Route path="login" element={<LoginPage />} />
      <Route path="register" element={<RegisterPage />} />
      <Route element={<SignedIn />}>
        <Route index element={<NoConversation />} />
        <Route path="c/:conversationId" element={<ConversationPage />} />
        <Route path="rooms" element={<RoomsPage />} />
      </Route>
      <Route path="*" element={<Navigate to="/" replace />} />
    </Routes>
  );
}
