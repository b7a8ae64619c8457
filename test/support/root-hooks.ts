import { stopSharedMoto } from "./moto";

/** Mocha root hooks (.mocharc.json `require`): once every file is done, stop the run's moto server. */
export const mochaHooks = {
    async afterAll(): Promise<void> {
        await stopSharedMoto();
    },
};
