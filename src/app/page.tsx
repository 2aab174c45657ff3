import { Storefront } from './storefront';

export default function Home() {
  return (
    <main>
      <h1>Resilient Orders</h1>
      <Storefront />
    </main>
  );
}
