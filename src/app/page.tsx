import { Storefront } from './_storefront/storefront';

export default function Home() {
  return (
    <main id="main">
      <h1>Shop</h1>
      <Storefront />
    </main>
  );
}
